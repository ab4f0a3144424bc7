package io.portcullis.daemon.http1;

import java.nio.charset.StandardCharsets;

/** Request lines and status lines (RFC 9112 3, 4), strictly as a client's and leniently as ICAP carries them. */
public final class StartLine {
  private StartLine() {
  }

  /**
   * Checks the request line b[from, to); returns null or what is wrong. Strict: a tchar method, one SP, a target
   * of visible ASCII without '#', one SP, HTTP/1.0 or 1.1 (another d.d: {@link Violation#VERSION_NOT_SUPPORTED}).
   * Embedded: METHOD SP TARGET SP HTTP/d.d with a tchar method, any version ({@link Violation#BAD_METHOD} or
   * {@link Violation#BAD_REQUEST_LINE}).
   */
  public static Violation request(byte[] b, int from, int to, boolean embedded) {
    int sp1 = indexOf(b, ' ', from, to);
    int sp2 = sp1 < 0 ? -1 : indexOf(b, ' ', sp1 + 1, to);
    if (embedded) {
      if (sp2 < 0 || indexOf(b, ' ', sp2 + 1, to) >= 0 || sp1 == from || sp2 == sp1 + 1
          || version(b, sp2 + 1, to) < 0) {
        return Violation.BAD_REQUEST_LINE;
      }
      return tokens(b, from, sp1) ? null : Violation.BAD_METHOD;
    }
    if (sp1 <= from) {
      return Violation.NO_METHOD;
    }
    if (!tokens(b, from, sp1)) {
      return Violation.BAD_METHOD;
    }
    if (sp2 < 0 || sp2 == sp1 + 1) {
      return Violation.BAD_REQUEST_LINE;
    }
    for (int k = sp1 + 1; k < sp2; k++) {
      int c = b[k] & 0xff;
      // A fragment is the client's own, and a URI is ASCII (RFC 3986): HAProxy refuses both by default too.
      if (c <= 0x20 || c >= 0x7f || c == '#') {
        return Violation.BAD_TARGET;
      }
    }
    int v = version(b, sp2 + 1, to);
    return v == 10 || v == 11 ? null : v >= 0 ? Violation.VERSION_NOT_SUPPORTED : Violation.BAD_VERSION;
  }

  /** The version of a request line b[from, to) that {@link #request} accepted: 10 for HTTP/1.0, 11 for 1.1, .. */
  public static int requestVersion(byte[] b, int from, int to) {
    return version(b, to - 8, to);
  }

  /** Whether the request line b[from, to) that {@link #request} accepted is a CONNECT (case-sensitive). */
  public static boolean connect(byte[] b, int from, int to) {
    String m = "CONNECT ";
    for (int k = 0; k < m.length(); k++) {
      if (b[from + k] != m.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** Whether the CONNECT target in the request line b[from, to) is host:port without a path. */
  public static boolean connectTarget(byte[] b, int from, int to) {
    int sp1 = indexOf(b, ' ', from, to);
    int sp2 = indexOf(b, ' ', sp1 + 1, to);
    String target = new String(b, sp1 + 1, sp2 - sp1 - 1, StandardCharsets.ISO_8859_1);
    int colon = target.lastIndexOf(':');
    return colon > 0 && target.substring(colon + 1).matches("[0-9]{1,5}") && target.indexOf('/') < 0;
  }

  /** The d.d of an unsupported version in the request line b[from, to) (for its 505 reason). */
  public static String versionText(byte[] b, int from, int to) {
    return new String(b, to - 3, 3, StandardCharsets.ISO_8859_1);
  }

  /**
   * Reads the status line b[from, to), {@code HTTP/d.d SP 3DIGIT [SP reason]}; returns version * 1000 + status
   * (version as 10 * major + minor), or -1.
   */
  public static int status(byte[] b, int from, int to) {
    if (to - from < 12 || version(b, from, from + 8) < 0 || b[from + 8] != ' ' || !Chars.digit(b[from + 9])
        || !Chars.digit(b[from + 10]) || !Chars.digit(b[from + 11]) || (to - from > 12 && b[from + 12] != ' ')) {
      return -1;
    }
    int status = (b[from + 9] - '0') * 100 + (b[from + 10] - '0') * 10 + (b[from + 11] - '0');
    return version(b, from, from + 8) * 1000 + status;
  }

  /** b[from, to) as {@code HTTP/d.d} exactly: 10 * major + minor, or -1. */
  private static int version(byte[] b, int from, int to) {
    if (to - from != 8 || b[from] != 'H' || b[from + 1] != 'T' || b[from + 2] != 'T' || b[from + 3] != 'P'
        || b[from + 4] != '/' || !Chars.digit(b[from + 5]) || b[from + 6] != '.' || !Chars.digit(b[from + 7])) {
      return -1;
    }
    return (b[from + 5] - '0') * 10 + (b[from + 7] - '0');
  }

  private static boolean tokens(byte[] b, int from, int to) {
    for (int k = from; k < to; k++) {
      if (!Chars.tchar(b[k])) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] b, char x, int from, int to) {
    for (int k = from; k < to; k++) {
      if (b[k] == x) {
        return k;
      }
    }
    return -1;
  }
}
