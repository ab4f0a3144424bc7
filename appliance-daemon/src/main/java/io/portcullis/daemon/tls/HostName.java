package io.portcullis.daemon.tls;

/**
 * The checks on a server_name's bytes. A name a rule may match must be a plain DNS name: ASCII (IDNs travel as
 * A-labels), labels of 1 to 63 letters, digits, hyphens or underscores (found in real host names), at most 253 bytes,
 * no trailing dot (RFC 6066 3). Anything looser is ambiguous: what a rule matches and what the origin reads could
 * differ.
 */
final class HostName {
  private static final int MAX_NAME = 253;
  private static final int MAX_LABEL = 63;

  private HostName() {
  }

  /**
   * True if {@code b[off, off + len)} is an IP literal as URL parsers read hosts: IPv6 (hex digits, colons, dots,
   * brackets, a zone's '%', with a colon), or a name whose last label is a number (WHATWG URL's "ends in a number":
   * dotted, decimal or 0x-hex IPv4), which no DNS name is.
   */
  static boolean isIpLiteral(byte[] b, int off, int len) {
    int end = off + len;
    boolean colon = false;
    boolean v6 = true;
    for (int i = off; i < end; i++) {
      int x = b[i];
      colon |= x == ':';
      v6 &= x == ':' || x == '.' || x == '[' || x == ']' || x == '%' || hex(x);
    }
    if (colon) {
      return v6;
    }
    int last = end;
    while (last > off && b[last - 1] != '.') {
      last--;
    }
    int n = end - last;
    if (n == 0) {
      return false;
    }
    boolean hexForm = n > 2 && b[last] == '0' && (b[last + 1] | 0x20) == 'x';
    for (int i = hexForm ? last + 2 : last; i < end; i++) {
      if (hexForm ? !hex(b[i]) : b[i] < '0' || b[i] > '9') {
        return false;
      }
    }
    return true;
  }

  /** Null if {@code b[off, off + len)} is a DNS name as above, else what is wrong with it. */
  static String invalid(byte[] b, int off, int len) {
    if (len > MAX_NAME) {
      return "a host name of " + len + " bytes, over " + MAX_NAME;
    }
    int label = 0;
    for (int i = off; i < off + len; i++) {
      int x = b[i];
      if (x == '.') {
        if (label == 0) {
          return "an empty label in the host name";
        }
        label = 0;
      } else if (letterOrDigit(x) || x == '-' || x == '_') {
        if (++label > MAX_LABEL) {
          return "a host name label over " + MAX_LABEL + " bytes";
        }
      } else {
        return String.format("byte 0x%02x in the host name", x & 0xff);
      }
    }
    return label == 0 ? "a host name ending in a dot" : null;
  }

  /** The name in lower case, its bytes being ASCII. */
  static String lowerCase(byte[] b, int off, int len) {
    char[] c = new char[len];
    for (int i = 0; i < len; i++) {
      int x = b[off + i];
      c[i] = (char) (x >= 'A' && x <= 'Z' ? x + 32 : x);
    }
    return new String(c);
  }

  private static boolean letterOrDigit(int x) {
    return x >= 'a' && x <= 'z' || x >= 'A' && x <= 'Z' || x >= '0' && x <= '9';
  }

  private static boolean hex(int x) {
    return x >= '0' && x <= '9' || x >= 'a' && x <= 'f' || x >= 'A' && x <= 'F';
  }
}
