package io.portcullis.daemon.http1;

/** RFC 9110 character classes of HTTP/1 syntax, by table: they are asked for every byte of every head. */
public final class Chars {
  private static final boolean[] TCHAR = new boolean[256];

  static {
    for (int c = 33; c < 127; c++) {
      TCHAR[c] = "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0; // VCHAR less the delimiters
    }
  }

  private Chars() {
  }

  /** Whether {@code b} is an RFC 9110 tchar (a token's character). */
  public static boolean tchar(byte b) {
    return TCHAR[b & 0xff];
  }

  /** Whether {@code c} is an RFC 9110 tchar. */
  public static boolean tchar(char c) {
    return c < 256 && TCHAR[c];
  }

  /** The value of the hex digit {@code b}, or -1. */
  public static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    int l = b | 0x20;
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
  }

  /** Whether {@code b} is an ASCII digit. */
  public static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  /** Whether {@code b} is optional whitespace (SP or HTAB). */
  public static boolean ows(byte b) {
    return b == ' ' || b == '\t';
  }

  /** Whether byte value {@code c} (0-255) may not stand in a field value: a control but HTAB, or DEL. */
  public static boolean ctl(int c) {
    return (c < 0x20 && c != '\t') || c == 0x7f;
  }

  /** Whether b[from, to) is {@code lower} (lower-case ASCII) in any case; only letters fold. */
  public static boolean is(byte[] b, int from, int to, String lower) {
    if (to - from != lower.length()) {
      return false;
    }
    for (int k = from; k < to; k++) {
      int c = b[k];
      if (c >= 'A' && c <= 'Z') {
        c += 32;
      }
      if (c != lower.charAt(k - from)) {
        return false;
      }
    }
    return true;
  }

  /** Whether b[from, to) is all digits, 1 to {@code max} of them. */
  public static boolean digits(byte[] b, int from, int to, int max) {
    if (to <= from || to - from > max) {
      return false;
    }
    for (int k = from; k < to; k++) {
      if (!digit(b[k])) {
        return false;
      }
    }
    return true;
  }
}
