package io.portcullis.daemon.tls;

import io.portcullis.daemon.tls.ClientHelloReader.Hello;
import io.portcullis.daemon.tls.ClientHelloReader.Malformed;
import io.portcullis.daemon.tls.ClientHelloReader.Result;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A whole ClientHello body (RFC 8446 4.1.2, RFC 5246 7.4.1.2) read by index: every length checked against the bytes
 * that hold it before it is used, the extensions framed to the last byte, and the few that the decision needs read.
 */
final class HelloParser {
  private final byte[] b;
  private final List<String> alpn = new ArrayList<>(2);
  private final List<Integer> versions = new ArrayList<>(4);
  private final List<Integer> extensions = new ArrayList<>(20);
  private final List<Integer> suites = new ArrayList<>(32);
  private String sni;
  private boolean ech;
  private boolean grease;

  private HelloParser(byte[] b) {
    this.b = b;
  }

  /** The ClientHello in {@code body} (the handshake message without its header), or why it is malformed. */
  static Result parse(byte[] body) {
    HelloParser p = new HelloParser(body);
    String why = p.hello();
    if (why != null) {
      return new Malformed(why);
    }
    return new Hello(new ClientHello(p.sni, p.alpn, p.versions, p.u16(0), p.ech, p.extensions, p.suites, p.grease));
  }

  /** Reads the body; returns null, or what is wrong. */
  private String hello() {
    int end = b.length;
    if (end < 2 + 32 + 1) {
      return "a ClientHello of " + end + " bytes, shorter than its fixed fields";
    }
    int p = 34;
    int session = u8(p++);
    if (session > 32) {
      return "a legacy_session_id of " + session + " bytes, over 32";
    }
    p += session;
    if (p + 2 > end) {
      return "the ClientHello ends before its cipher suites";
    }
    int suitesLength = u16(p);
    p += 2;
    if (suitesLength < 2 || suitesLength % 2 != 0) {
      return "cipher suites of " + suitesLength + " bytes, not a positive even count";
    }
    if (p + suitesLength > end) {
      return "the cipher suites run past the ClientHello";
    }
    for (int s = p; s < p + suitesLength; s += 2) {
      add(suites, u16(s));
    }
    p += suitesLength;
    if (p >= end) {
      return "the ClientHello ends before its compression methods";
    }
    int methods = u8(p++);
    if (methods == 0 || p + methods > end) {
      return "compression methods of " + methods + " bytes with " + (end - p) + " left";
    }
    p += methods;
    if (p == end) {
      return null; // TLS 1.2 and older may send no extensions at all
    }
    if (p + 2 > end) {
      return "one stray byte after the compression methods";
    }
    int extensionsLength = u16(p);
    p += 2;
    if (p + extensionsLength != end) {
      return "extensions of " + extensionsLength + " bytes where " + (end - p) + " are left";
    }
    return extensions(p, end);
  }

  /** Frames the extensions in {@code b[p, end)} and reads those the decision needs. */
  private String extensions(int p, int end) {
    int[] types = new int[(end - p) / 4];
    int count = 0;
    boolean psk = false;
    while (p < end) {
      if (p + 4 > end) {
        return "an extension header cut by the end of the list";
      }
      int type = u16(p);
      int length = u16(p + 2);
      p += 4;
      if (p + length > end) {
        return "extension " + type + " of " + length + " bytes runs past the list";
      }
      if (psk) {
        return "pre_shared_key is not the last extension"; // RFC 8446 4.2.11
      }
      types[count++] = type;
      add(extensions, type);
      String why = switch (type) {
        case ClientHello.SERVER_NAME -> serverName(p, length);
        case ClientHello.ALPN -> alpn(p, length);
        case ClientHello.SUPPORTED_VERSIONS -> supportedVersions(p, length);
        default -> null;
      };
      if (why != null) {
        return why;
      }
      psk = type == ClientHello.PRE_SHARED_KEY;
      ech |= type == ClientHello.ENCRYPTED_CLIENT_HELLO;
      p += length;
    }
    // RFC 8446 4.2: no two extensions of one type; sorted, as a hello may hold thousands of empty ones
    Arrays.sort(types, 0, count);
    for (int i = 1; i < count; i++) {
      if (types[i] == types[i - 1]) {
        return "extension " + types[i] + " twice";
      }
    }
    return null;
  }

  /** server_name (RFC 6066 3): one host_name, as OpenSSL and BoringSSL require; an IP literal counts as none. */
  private String serverName(int p, int length) {
    if (length < 2 || u16(p) != length - 2) {
      return "a server_name extension whose list length disagrees with its own";
    }
    if (length < 5) {
      return "a server_name list too short for a name";
    }
    if (u8(p + 2) != 0) {
      return "server name type " + u8(p + 2) + ", not host_name";
    }
    int nameLength = u16(p + 3);
    if (nameLength == 0 || 5 + nameLength > length) {
      return "a host name of " + nameLength + " bytes in a server_name list of " + (length - 2);
    }
    if (5 + nameLength < length) {
      return "more than one server name";
    }
    if (HostName.isIpLiteral(b, p + 5, nameLength)) {
      sni = null;
      return null;
    }
    String why = HostName.invalid(b, p + 5, nameLength);
    if (why != null) {
      return why;
    }
    sni = HostName.lowerCase(b, p + 5, nameLength);
    return null;
  }

  /** application_layer_protocol_negotiation (RFC 7301 3.1): a non-empty list of non-empty names. */
  private String alpn(int p, int length) {
    if (length < 2 || u16(p) != length - 2) {
      return "an ALPN extension whose list length disagrees with its own";
    }
    if (length == 2) {
      return "an empty ALPN list";
    }
    int end = p + length;
    for (int q = p + 2; q < end; ) {
      int n = u8(q++);
      if (n == 0 || q + n > end) {
        return "an ALPN protocol name of " + n + " bytes with " + (end - q) + " left";
      }
      if (n == 2 && ClientHello.isGrease(u16(q))) {
        grease = true;
      } else {
        alpn.add(new String(b, q, n, StandardCharsets.ISO_8859_1));
      }
      q += n;
    }
    return null;
  }

  /** supported_versions in a ClientHello (RFC 8446 4.2.1): a one-byte length, then one to 127 versions. */
  private String supportedVersions(int p, int length) {
    int n = length == 0 ? -1 : u8(p);
    if (n != length - 1 || n < 2 || n % 2 != 0) {
      return "a supported_versions extension whose list length disagrees with its own";
    }
    for (int q = p + 1; q < p + length; q += 2) {
      add(versions, u16(q));
    }
    return null;
  }

  /** Adds {@code value} to {@code list} unless it is GREASE, which is noted instead. */
  private void add(List<Integer> list, int value) {
    if (ClientHello.isGrease(value)) {
      grease = true;
    } else {
      list.add(value);
    }
  }

  private int u8(int p) {
    return b[p] & 0xff;
  }

  private int u16(int p) {
    return (b[p] & 0xff) << 8 | b[p + 1] & 0xff;
  }
}
