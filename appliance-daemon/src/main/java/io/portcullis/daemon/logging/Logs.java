package io.portcullis.daemon.logging;

/**
 * Text from outside (user names, URLs, headers, SSH user names) made safe for a log line: CR, LF and every other
 * control character (C0, DEL, C1) written as an escape, and the backslash doubled so that an escape cannot be faked.
 * A crafted value can then neither start a forged log line nor move a terminal's cursor.
 */
public final class Logs {
  private Logs() {
  }

  /** {@code s} with controls escaped ({@code \r}, {@code \n}, {@code \t}, {@code \x1b}, {@code \u0085}); null stays null. */
  public static String escape(CharSequence s) {
    return escape(s, true);
  }

  /**
   * {@code s} with controls escaped but backslashes left as they are: for a whole log message, whose values from
   * outside were escaped already (their backslashes doubled once) or come from a library that did not escape them.
   */
  public static String escapeControls(CharSequence s) {
    return escape(s, false);
  }

  private static String escape(CharSequence s, boolean backslash) {
    if (s == null) {
      return null;
    }
    int n = s.length();
    int i = 0;
    while (i < n && !special(s.charAt(i), backslash)) {
      i++;
    }
    if (i == n) {
      return s.toString(); // the common case: nothing to escape, no copy
    }
    StringBuilder b = new StringBuilder(n + 16).append(s, 0, i);
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (!special(c, backslash)) {
        b.append(c);
      } else if (c == '\\') {
        b.append("\\\\");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c < 0x100) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b.toString();
  }

  private static boolean special(char c, boolean backslash) {
    return c < 0x20 || (backslash && c == '\\') || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
  }
}
