package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.codec.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Who an ICAP message is for, as its client (Squid, a commercial proxy, or ours) tells in the headers that
 * icap.identity names: the user's address, name and groups; each may be missing. Names come plain (Squid's
 * X-Client-Username), Base64-encoded (Squid's icap_client_username_encode, always tried for X-Authenticated-User),
 * or in the ICAP extensions draft's form {@code WinNT://DOMAIN/alice}, {@code LDAP://server/uid=alice,...},
 * {@code Local://alice}: the name rules see is {@code alice} in each.
 */
record Requester(String clientIp, String user, List<String> groups) {
  private static final String AUTHENTICATED_USER = "X-Authenticated-User";
  private static final String AUTHENTICATED_GROUPS = "X-Authenticated-Groups";

  /** The requester that {@code headers} name under {@code identity}'s header names. */
  static Requester of(Headers headers, IcapConfig.IcapIdentity identity) {
    String user = null;
    for (String h : identity.userHeaders()) {
      String v = headers.get(h);
      if (v != null && !v.isBlank()) {
        String text = identity.base64Users() || h.equalsIgnoreCase(AUTHENTICATED_USER) ? decoded(v.strip()) : null;
        user = name(text != null ? text : v.strip());
        if (!user.isEmpty()) {
          break;
        }
        user = null;
      }
    }
    String g = headers.get(AUTHENTICATED_GROUPS);
    List<String> groups = List.of();
    if (g != null) {
      String text = text(g.strip());
      // Base64 of a list in the draft's form is unmistakable, whatever its names hold (R&D, IT (UK)).
      String list = text != null && text.contains("://") ? text : g;
      List<String> parts = new ArrayList<>();
      // In the draft's form a group is a URL whose DN has commas of its own: split before each SCHEME:// only.
      for (String part : list.split(list.contains("://") ? ",\\s*(?=[A-Za-z]+://)" : ",")) {
        String name = name(part.strip());
        if (!name.isEmpty()) {
          parts.add(name);
        }
      }
      groups = List.copyOf(parts);
    }
    return new Requester(headers.get(identity.clientIpHeader()), user, groups);
  }

  /**
   * {@code v} Base64-decoded, if it is Base64 of a name; else null. Padded Base64 ({@code o'brien} is
   * {@code bydicmllbg==}) is Base64 of text without control characters. Unpadded, the value may as well be a plain
   * name ({@code bill} is Base64 of {@code n)e}): then what it decodes to must look like a name (letters, digits,
   * {@code . _ - @ \ $ / : , =} and spaces: a user, the draft's URLs).
   */
  static String decoded(String v) {
    String s = text(v);
    return s == null || !v.endsWith("=") && !s.codePoints().allMatch(Requester::nameLike) ? null : s;
  }

  /** {@code v} Base64-decoded, if that is UTF-8 text without control characters; else null. */
  private static String text(String v) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(v);
    } catch (IllegalArgumentException e) {
      return null;
    }
    try {
      String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
      return s.isEmpty() || s.chars().anyMatch(c -> c < 0x20 || c == 0x7f) ? null : s;
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /**
   * The user or group name in {@code v}: {@code v} itself, or after the draft's {@code SCHEME://} prefix the last
   * path part ({@code WinNT://DOMAIN/alice}), of a DN its first value ({@code LDAP://host/cn=Staff,ou=...}), and
   * after {@code Local://} all the rest.
   */
  static String name(String v) {
    int scheme = v.indexOf("://");
    if (scheme <= 0 || !v.substring(0, scheme).chars().allMatch(Character::isLetter)) {
      return v;
    }
    String rest = v.substring(scheme + 3);
    if (v.regionMatches(true, 0, "Local", 0, scheme) && scheme == 5) {
      return rest.strip(); // the name as the client knows it, slashes and all (Sales/Europe)
    }
    int eq = rest.indexOf('=');
    int slash = eq < 0 ? rest.lastIndexOf('/') : rest.lastIndexOf('/', eq);
    String last = rest.substring(slash + 1);
    if (eq >= 0 && last.indexOf('=') > 0) {
      String value = last.substring(last.indexOf('=') + 1);
      int comma = value.indexOf(',');
      return (comma < 0 ? value : value.substring(0, comma)).strip();
    }
    return last.strip();
  }

  private static boolean nameLike(int c) {
    return Character.isLetterOrDigit(c) || " ._-@\\$/:,=".indexOf(c) >= 0;
  }
}
