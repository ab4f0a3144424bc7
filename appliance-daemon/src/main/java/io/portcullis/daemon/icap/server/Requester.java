package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.codec.Headers;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Who an ICAP message is for, as its client (Squid, or our proxy) tells in the headers that icap.identity names: the
 * user's address, name and groups; each may be missing.
 */
record Requester(String clientIp, String user, List<String> groups) {

  /** The requester that {@code headers} name under {@code identity}'s header names. */
  static Requester of(Headers headers, IcapConfig.IcapIdentity identity) {
    String user = null;
    for (String h : identity.userHeaders()) {
      String v = headers.get(h);
      if (v != null && !v.isEmpty()) {
        user = identity.base64Users() ? decodeBase64(v) : v;
        break;
      }
    }
    String g = headers.get("X-Authenticated-Groups");
    List<String> groups = List.of();
    if (g != null) {
      List<String> parts = new ArrayList<>();
      for (String part : g.split(",")) {
        if (!part.isBlank()) {
          parts.add(part.strip());
        }
      }
      groups = List.copyOf(parts);
    }
    return new Requester(headers.get(identity.clientIpHeader()), user, groups);
  }

  /** {@code v} Base64-decoded as UTF-8, or as it is if it is not Base64. */
  private static String decodeBase64(String v) {
    try {
      return new String(Base64.getDecoder().decode(v.strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return v;
    }
  }
}
