package io.portcullis.daemon.http1;

/**
 * Comma-separated lists (RFC 9110 5.6.1), as Connection, Transfer-Encoding, Allow and the like carry them. The one
 * reading used everywhere: items are separated by commas, trimmed of spaces and controls (as String.trim), empty
 * ones skipped, and compared whole, in any case: {@code foo close} is one item, not close.
 */
public final class TokenList {
  private TokenList() {
  }

  /** Whether the list in b[from, to) has {@code lower} (a lower-case token) as an item. */
  public static boolean has(byte[] b, int from, int to, String lower) {
    for (int k = itemStart(b, from, to); k < to; k = itemStart(b, k, to)) {
      int comma = comma(b, k, to);
      if (Chars.is(b, k, trimEnd(b, k, comma), lower)) {
        return true;
      }
      k = comma;
    }
    return false;
  }

  /** Whether the last item of the list in b[from, to) is {@code lower} (Transfer-Encoding's coding that frames). */
  public static boolean lastIs(byte[] b, int from, int to, String lower) {
    int end = to;
    while (end > from && (b[end - 1] == ',' || blank(b[end - 1]))) {
      end--; // empty items at the end are no items
    }
    int start = end;
    while (start > from && b[start - 1] != ',') {
      start--;
    }
    while (start < end && blank(b[start])) {
      start++;
    }
    return end > start && Chars.is(b, start, end, lower);
  }

  /** The index of the first character of the next item at or after {@code k} in b[k, to) ({@code to} if none). */
  public static int itemStart(byte[] b, int k, int to) {
    while (k < to && (b[k] == ',' || blank(b[k]))) {
      k++;
    }
    return k;
  }

  /** The index of the comma that ends the item at {@code k} in b[k, to), or {@code to}. */
  public static int comma(byte[] b, int k, int to) {
    while (k < to && b[k] != ',') {
      k++;
    }
    return k;
  }

  /** The end of the item b[start, end) without the blanks after it. */
  public static int trimEnd(byte[] b, int start, int end) {
    while (end > start && blank(b[end - 1])) {
      end--;
    }
    return end;
  }

  /** Whether the list {@code list} has {@code token} as an item, in any case. */
  public static boolean has(String list, String token) {
    for (int k = itemStart(list, 0); k < list.length(); k = itemStart(list, k)) {
      int comma = comma(list, k);
      int end = trimEnd(list, k, comma);
      if (end - k == token.length() && list.regionMatches(true, k, token, 0, end - k)) {
        return true;
      }
      k = comma;
    }
    return false;
  }

  /** The index of the first character of the next item of {@code list} at or after {@code k} (its length if none). */
  public static int itemStart(String list, int k) {
    while (k < list.length() && (list.charAt(k) == ',' || list.charAt(k) <= ' ')) {
      k++;
    }
    return k;
  }

  /** The index of the comma that ends the item of {@code list} at {@code k}, or its length. */
  public static int comma(String list, int k) {
    int c = list.indexOf(',', k);
    return c < 0 ? list.length() : c;
  }

  /** The end of the item list[start, end) without the blanks after it. */
  public static int trimEnd(String list, int start, int end) {
    while (end > start && list.charAt(end - 1) <= ' ') {
      end--;
    }
    return end;
  }

  private static boolean blank(byte x) {
    return (x & 0xff) <= ' ';
  }
}
