package io.portcullis.daemon.http1;

/** A chunk-size line, {@code chunk-size [ chunk-ext ]} (RFC 9112 7.1), read under one of three extension rules. */
public final class ChunkLine {
  /** How the extensions after the size are read. */
  public enum Extensions {
    /** RFC 9112 7.1.1 exactly: {@code *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )}. */
    STRICT,
    /** The same, with whitespace after the last one; quoted strings refuse only CR, LF, NUL and DEL (ICAP). */
    TOLERANT,
    /** Not read: after the size only ";", SP or HTAB may follow (a server's, which the balancer relays as it came). */
    SKIPPED
  }

  private ChunkLine() {
  }

  /**
   * Reads the line b[from, to) (CRLF excluded); returns the size (at most {@code maxDigits} hex digits and
   * {@code maxSize}), or a negative violation code.
   */
  public static long parse(byte[] b, int from, int to, int maxDigits, long maxSize, Extensions ext) {
    int k = from;
    long size = 0;
    while (k < to && Chars.hex(b[k]) >= 0) {
      if (k - from == maxDigits) {
        return Violation.CHUNK_SIZE_DIGITS.code();
      }
      size = size * 16 + Chars.hex(b[k]);
      k++;
    }
    if (k == from) {
      return Violation.NO_CHUNK_SIZE.code();
    }
    if (size < 0 || size > maxSize) {
      return Violation.CHUNK_TOO_LARGE.code();
    }
    boolean ok = switch (ext) {
      case SKIPPED -> k == to || b[k] == ';' || Chars.ows(b[k]);
      case STRICT -> k == to || extensions(b, k, to, false);
      case TOLERANT -> extensions(b, k, to, true);
    };
    return ok ? size : Violation.BAD_CHUNK_EXTENSION.code();
  }

  /** The value of the hex digits that begin b[from, to) (a size {@link #parse} found too large). */
  public static long size(byte[] b, int from, int to) {
    long size = 0;
    for (int k = from; k < to && Chars.hex(b[k]) >= 0; k++) {
      size = size * 16 + Chars.hex(b[k]);
    }
    return size;
  }

  /** Whether the line b[from, to), which {@link #parse} accepted, has an extension named {@code lower}. */
  public static boolean hasExtension(byte[] b, int from, int to, String lower) {
    int k = from;
    boolean quoted = false;
    while (k < to) {
      byte x = b[k];
      if (quoted) {
        quoted = x != '"';
        k += x == '\\' ? 2 : 1;
        continue;
      }
      if (x == '"') {
        quoted = true;
      } else if (x == ';') {
        int s = skipBws(b, k + 1, to);
        int e = s;
        while (e < to && Chars.tchar(b[e])) {
          e++;
        }
        if (Chars.is(b, s, e, lower)) {
          return true;
        }
        k = e;
        continue;
      }
      k++;
    }
    return false;
  }

  /** Whether b[k, to) are well-formed extensions; {@code tolerant}: as {@link Extensions#TOLERANT} says. */
  private static boolean extensions(byte[] b, int k, int to, boolean tolerant) {
    while (true) {
      if (!tolerant && k >= to) {
        return true; // strict, as it always was: whitespace may end a name, never a value
      }
      k = skipBws(b, k, to);
      if (k == to && tolerant) {
        return true;
      }
      if (k >= to || b[k] != ';') {
        return false;
      }
      k = skipBws(b, k + 1, to);
      int name = k;
      while (k < to && Chars.tchar(b[k])) {
        k++;
      }
      if (k == name) {
        return false;
      }
      k = skipBws(b, k, to);
      if (k < to && b[k] == '=') {
        k = skipBws(b, k + 1, to);
        k = k < to && b[k] == '"' ? quoted(b, k + 1, to, tolerant) : token(b, k, to);
        if (k < 0) {
          return false;
        }
      }
    }
  }

  /** The index after the closing quote of the quoted-string whose content begins at {@code k}, or -1. */
  private static int quoted(byte[] b, int k, int to, boolean tolerant) {
    while (k < to) {
      int c = b[k] & 0xff;
      if (c == '"') {
        return k + 1;
      }
      if (c == '\\') {
        k++;
        if (tolerant) {
          if (k == to) {
            return -1;
          }
          c = b[k] & 0xff;
        } else {
          k++; // a strict quoted-pair takes any octet, as before: the line holds no CR or LF
          continue;
        }
      }
      if (tolerant ? c == '\r' || c == '\n' || c == 0 || c == 0x7f : Chars.ctl(c)) {
        return -1;
      }
      k++;
    }
    return -1;
  }

  /** The index after the token that begins at {@code k}, or -1 if none does. */
  private static int token(byte[] b, int k, int to) {
    int start = k;
    while (k < to && Chars.tchar(b[k])) {
      k++;
    }
    return k == start ? -1 : k;
  }

  private static int skipBws(byte[] b, int k, int to) {
    while (k < to && Chars.ows(b[k])) {
      k++;
    }
    return k;
  }
}
