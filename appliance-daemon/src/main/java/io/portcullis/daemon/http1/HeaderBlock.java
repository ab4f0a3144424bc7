package io.portcullis.daemon.http1;

import java.util.Arrays;

/**
 * The lines of a whole header block held in a byte array, framed by its length rather than by its empty line (as
 * ICAP's Encapsulated offsets frame the HTTP heads it carries): split once on CRLF, then read by index. Offsets
 * rather than Strings: a String per line, then per name and value, was an ICAP decoder's largest cost.
 */
public final class HeaderBlock {
  private int[] starts = new int[32];
  private int[] ends = new int[32];
  private int count;

  /**
   * Splits b[from, to) on CRLF; returns null, {@link Violation#BARE_CR} for a CR or LF not in a CRLF (or, with
   * {@code nul}, a NUL), or with {@code noEmpty} {@link Violation#EMPTY_LINE} for an empty line.
   */
  public Violation split(byte[] b, int from, int to, boolean nul, boolean noEmpty) {
    count = 0;
    int start = from;
    for (int i = from; i < to; i++) {
      byte x = b[i];
      if (x > '\r') {
        continue; // the usual byte: one compare
      }
      if (x == '\r' && i + 1 < to && b[i + 1] == '\n') {
        if (noEmpty && i == start) {
          return Violation.EMPTY_LINE;
        }
        add(start, i);
        start = i + 2;
        i++;
      } else if (x == '\r' || x == '\n' || (nul && x == 0)) {
        return Violation.BARE_CR;
      }
    }
    if (noEmpty && to == start) {
      return Violation.EMPTY_LINE;
    }
    add(start, to);
    return null;
  }

  /** How many lines the last split found. */
  public int count() {
    return count;
  }

  /** Where line {@code i} begins. */
  public int start(int i) {
    return starts[i];
  }

  /** Where line {@code i} ends (its CRLF excluded). */
  public int end(int i) {
    return ends[i];
  }

  private void add(int start, int end) {
    if (count == starts.length) {
      starts = Arrays.copyOf(starts, count * 2);
      ends = Arrays.copyOf(ends, count * 2);
    }
    starts[count] = start;
    ends[count++] = end;
  }
}
