package io.portcullis.daemon.http1;

/**
 * Comma-separated token lists (RFC 9110 5.6.1), as Connection, Transfer-Encoding, Allow and the like carry them. The
 * one reading used everywhere: items are separated by commas and whitespace, empty items skipped, tokens compared in
 * any case. Whitespace separates too, so that a malformed {@code Connection: foo close} still says close.
 */
public final class TokenList {
  private TokenList() {
  }

  /** Whether the list in b[from, to) has {@code lower} (a lower-case token) as an item. */
  public static boolean has(byte[] b, int from, int to, String lower) {
    int k = from;
    while (k < to) {
      k = skipSeparators(b, k, to);
      int end = itemEnd(b, k, to);
      if (end > k && Chars.is(b, k, end, lower)) {
        return true;
      }
      k = end;
    }
    return false;
  }

  /** Whether the last item of the list in b[from, to) is {@code lower} (Transfer-Encoding's coding that frames). */
  public static boolean lastIs(byte[] b, int from, int to, String lower) {
    int end = to;
    while (end > from && separator(b[end - 1])) {
      end--;
    }
    int start = end;
    while (start > from && !separator(b[start - 1])) {
      start--;
    }
    return end > start && Chars.is(b, start, end, lower);
  }

  /** The index of the first item at or after {@code k} in b[k, to) ({@code to} if none). */
  public static int skipSeparators(byte[] b, int k, int to) {
    while (k < to && separator(b[k])) {
      k++;
    }
    return k;
  }

  /** The end of the item that starts at {@code k} in b[k, to). */
  public static int itemEnd(byte[] b, int k, int to) {
    while (k < to && !separator(b[k])) {
      k++;
    }
    return k;
  }

  /** Whether the list {@code list} has {@code token} as an item, in any case. */
  public static boolean has(String list, String token) {
    int n = list.length();
    int k = 0;
    while (k < n) {
      k = skipSeparators(list, k);
      int end = itemEnd(list, k);
      if (end - k == token.length() && list.regionMatches(true, k, token, 0, end - k)) {
        return true;
      }
      k = end;
    }
    return false;
  }

  /** The index of the first item of {@code list} at or after {@code k} (its length if none). */
  public static int skipSeparators(String list, int k) {
    while (k < list.length() && separator(list.charAt(k))) {
      k++;
    }
    return k;
  }

  /** The end of the item of {@code list} that starts at {@code k}. */
  public static int itemEnd(String list, int k) {
    while (k < list.length() && !separator(list.charAt(k))) {
      k++;
    }
    return k;
  }

  private static boolean separator(int c) {
    return c == ',' || c == ' ' || c == '\t';
  }
}
