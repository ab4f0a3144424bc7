package io.portcullis.daemon.http1;

/** One header (or trailer) field line, {@code name ":" OWS value OWS}, checked under one of three rule sets. */
public final class Fields {
  /** How strict a field line is read. */
  public enum Rules {
    /** A client's: tchar names, no control character in values (RFC 9110 5.1, 5.5). */
    STRICT,
    /** A server's the balancer relays: no whitespace in names; values are not looked at. */
    TRUSTED,
    /** ICAP's and its encapsulated heads': tchar names; controls only where String.strip would remove them. */
    EMBEDDED
  }

  private static final boolean[] STRIP = new boolean[256];

  static {
    for (int c = 0; c < 256; c++) {
      STRIP[c] = Character.isWhitespace((char) c); // what String.strip() removes, in ISO-8859-1
    }
  }

  private Fields() {
  }

  /** Checks the line b[from, to) (no CRLF, not empty); returns its colon's index, or a negative violation code. */
  public static int check(byte[] b, int from, int to, Rules rules) {
    if (Chars.ows(b[from])) {
      return Violation.OBS_FOLD.code();
    }
    int colon = -1;
    for (int k = from; k < to; k++) {
      if (b[k] == ':') {
        colon = k;
        break;
      }
      if (rules == Rules.TRUSTED && Chars.ows(b[k])) {
        return Violation.WS_IN_NAME.code();
      }
    }
    if (colon <= from) {
      return Violation.NO_NAME.code();
    }
    if (rules == Rules.TRUSTED) {
      return colon;
    }
    for (int k = from; k < colon; k++) {
      if (!Chars.tchar(b[k])) {
        return (Chars.ows(b[k]) ? Violation.WS_IN_NAME : Violation.BAD_NAME).code();
      }
    }
    int vs = valueStart(b, colon, to, rules);
    int ve = valueEnd(b, vs, to, rules);
    for (int k = vs; k < ve; k++) {
      if (Chars.ctl(b[k] & 0xff)) {
        return Violation.CTL_IN_VALUE.code();
      }
    }
    return colon;
  }

  /** Where the value after {@code colon} in b[colon, to) begins, past the whitespace the rules trim. */
  public static int valueStart(byte[] b, int colon, int to, Rules rules) {
    int k = colon + 1;
    while (k < to && trimmed(b[k], rules)) {
      k++;
    }
    return k;
  }

  /** Where the value that begins at {@code from} ends, before the whitespace the rules trim. */
  public static int valueEnd(byte[] b, int from, int to, Rules rules) {
    while (to > from && trimmed(b[to - 1], rules)) {
      to--;
    }
    return to;
  }

  private static boolean trimmed(byte x, Rules rules) {
    return rules == Rules.EMBEDDED ? STRIP[x & 0xff] : Chars.ows(x);
  }
}
