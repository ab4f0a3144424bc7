package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.portcullis.daemon.http1.Chars;
import io.portcullis.daemon.http1.HopByHop;
import io.portcullis.daemon.http1.TokenList;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Rewrites a framed HTTP/1.x head for the next hop, as bytes: the headers that belong to one connection go (each side
 * of the relay runs its own connection management), the relay's own are added. The start line and every other header
 * pass unchanged, in order. A head with nothing to change is passed on as it came, without a copy. One per relay
 * connection: {@link #close} and {@link #keepAlive} tell what the last head's Connection header said.
 */
final class Heads {
  /** The last head's Connection listed close / keep-alive. */
  boolean close;
  boolean keepAlive;
  // Line starts and ends (without CRLF) of the head being rewritten, and which lines go.
  private int[] starts = new int[32];
  private int[] ends = new int[32];
  private boolean[] drop = new boolean[32];
  private int lines;
  private List<String> listed; // header names a Connection header lists, dropped with it (RFC 9110 7.6.1)

  /**
   * The request {@code head} for a server: without the fields of {@link HopByHop#RELAY_REQUEST} (and what
   * Connection lists); with {@code client} appended to X-Forwarded-For (one header, after those the client sent)
   * unless null. Takes {@code head} over (released or returned).
   */
  ByteBuf request(ByteBuf head, String client, ByteBufAllocator alloc) {
    return rewrite(head, true, client == null ? null : xff(head, client), alloc);
  }

  /**
   * The response {@code head} for the client: without the fields of {@link HopByHop#RELAY_RESPONSE} (and what
   * Connection lists), with {@code connection} as its Connection header unless null. Takes {@code head} over.
   */
  ByteBuf response(ByteBuf head, String connection, ByteBufAllocator alloc) {
    return rewrite(head, false, connection == null ? null : "Connection: " + connection, alloc);
  }

  private ByteBuf rewrite(ByteBuf head, boolean request, String extra, ByteBufAllocator alloc) {
    byte[] h = new byte[head.readableBytes()];
    head.getBytes(head.readerIndex(), h);
    split(h);
    close = false;
    keepAlive = false;
    listed = null;
    boolean any = false;
    HopByHop hop = request ? HopByHop.RELAY_REQUEST : HopByHop.RELAY_RESPONSE;
    for (int l = 1; l < lines; l++) {
      int s = starts[l];
      int colon = colon(h, s, ends[l]);
      boolean go = hop.test(h, s, colon) || (extra != null && request && is(h, s, colon, "x-forwarded-for"));
      if (is(h, s, colon, "connection")) {
        tokens(h, colon + 1, ends[l]);
      }
      drop[l] = go;
      any |= go;
    }
    if (listed != null) {
      for (int l = 1; l < lines; l++) {
        int colon = colon(h, starts[l], ends[l]);
        for (String n : listed) {
          if (is(h, starts[l], colon, n)) {
            drop[l] = true;
            any = true;
          }
        }
      }
    }
    if (!any && extra == null) {
      return head;
    }
    head.release();
    byte[] add = extra == null ? null : extra.getBytes(StandardCharsets.ISO_8859_1);
    ByteBuf out = alloc.buffer(h.length + (add == null ? 0 : add.length + 2));
    for (int l = 0; l < lines; l++) {
      if (!drop[l]) {
        out.writeBytes(h, starts[l], ends[l] - starts[l] + 2);
      }
    }
    if (add != null) {
      out.writeBytes(add).writeByte('\r').writeByte('\n');
    }
    return out.writeByte('\r').writeByte('\n');
  }

  /** The X-Forwarded-For line: the values the client sent (in order, joined), then {@code client}. */
  private String xff(ByteBuf head, String client) {
    byte[] h = new byte[head.readableBytes()];
    head.getBytes(head.readerIndex(), h);
    split(h);
    StringBuilder prior = new StringBuilder();
    for (int l = 1; l < lines; l++) {
      int colon = colon(h, starts[l], ends[l]);
      if (is(h, starts[l], colon, "x-forwarded-for")) {
        String v = new String(h, colon + 1, ends[l] - colon - 1, StandardCharsets.ISO_8859_1).strip();
        if (!v.isEmpty()) {
          prior.append(v).append(", ");
        }
      }
    }
    return "X-Forwarded-For: " + prior + client;
  }

  /** Finds the lines of {@code h}: the start line, then each header, up to the empty line (skipped CRLFs before). */
  private void split(byte[] h) {
    lines = 0;
    int i = 0;
    while (i + 1 < h.length && h[i] == '\r' && h[i + 1] == '\n') {
      i += 2; // empty lines before a request line (RFC 9112 2.2)
    }
    while (i < h.length) {
      int e = i;
      while (e + 1 < h.length && !(h[e] == '\r' && h[e + 1] == '\n')) {
        e++;
      }
      if (e == i || e + 1 >= h.length) {
        break; // the empty line that ends the head
      }
      if (lines == starts.length) {
        starts = java.util.Arrays.copyOf(starts, lines * 2);
        ends = java.util.Arrays.copyOf(ends, lines * 2);
        drop = java.util.Arrays.copyOf(drop, lines * 2);
      }
      starts[lines] = i;
      ends[lines] = e;
      drop[lines] = false;
      lines++;
      i = e + 2;
    }
  }

  /** Reads a Connection header's tokens: close, keep-alive, and the names of headers to drop with it. */
  private void tokens(byte[] h, int from, int to) {
    for (int s = TokenList.itemStart(h, from, to); s < to; s = TokenList.itemStart(h, s, to)) {
      int comma = TokenList.comma(h, s, to);
      int k = TokenList.trimEnd(h, s, comma);
      if (is(h, s, k, "close")) {
        close = true;
      } else if (is(h, s, k, "keep-alive")) {
        keepAlive = true;
      } else {
        if (listed == null) {
          listed = new ArrayList<>(2);
        }
        listed.add(new String(h, s, k - s, StandardCharsets.ISO_8859_1).toLowerCase(java.util.Locale.ROOT));
      }
      s = comma;
    }
  }

  private static int colon(byte[] h, int from, int to) {
    for (int k = from; k < to; k++) {
      if (h[k] == ':') {
        return k;
      }
    }
    return to;
  }

  /** Whether h[from, to) is {@code lower}, ignoring case. */
  static boolean is(byte[] h, int from, int to, String lower) {
    return Chars.is(h, from, to, lower);
  }

  /** The method of a request head (after any empty lines before it). */
  static String method(ByteBuf h) {
    int i = h.readerIndex();
    int end = h.writerIndex();
    while (i + 1 < end && h.getByte(i) == '\r' && h.getByte(i + 1) == '\n') {
      i += 2;
    }
    int sp = h.indexOf(i, end, (byte) ' ');
    return h.toString(i, Math.max(0, sp - i), StandardCharsets.US_ASCII);
  }
}
