package io.portcullis.daemon.icap.server;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * A connection's buffer for the body of its current message (its first bytes to sniff, or all of it to scan), lent
 * to one transaction at a time: the array is kept for the next message, unless it grew big.
 */
final class BodyBuffer {
  /** An array larger than this is dropped between messages rather than held by an idle connection. */
  private static final int KEEP_AT_MOST = 1024 * 1024;

  private final ScanBuffers shared;
  private byte[] bytes = new byte[0];
  private int length;
  private long reserved; // bytes of this message counted in the shared total, given back at clear
  private boolean lent; // a view went to the socket, whose queued writes may still read it

  /** A buffer whose bytes kept to scan are counted in {@code shared}. */
  BodyBuffer(ScanBuffers shared) {
    this.shared = shared;
  }

  /**
   * Counts {@code n} more bytes of this message in the shared total before they are appended to be scanned; false
   * when that would pass {@code max} (icap.maxBufferedBytes).
   */
  boolean reserve(long n, long max) {
    if (!shared.reserve(n, max)) {
      return false;
    }
    reserved += n;
    return true;
  }

  /** Appends (consumes) {@code data}; growth doubles, but past {@code maxSize + 1} only as far as it must. */
  void append(ByteBuffer data, long maxSize) {
    int n = data.remaining();
    if (length + n > bytes.length) {
      long want = Math.max((long) length + n, Math.min((long) bytes.length * 2, maxSize + 1L));
      bytes = Arrays.copyOf(bytes, (int) Math.max(want, 1024));
    }
    data.get(bytes, length, n);
    length += n;
  }

  /** The array whose first {@link #length()} bytes hold the body; valid until the next append or clear. */
  byte[] bytes() {
    return bytes;
  }

  /** How many body bytes are held. */
  int length() {
    return length;
  }

  /** A view of the bytes held in {@code [from, to)}, not a copy; the array is not reused after it. */
  ByteBuffer view(int from, int to) {
    lent = true;
    return ByteBuffer.wrap(bytes, from, to - from);
  }

  /** Empties the buffer for the next message. */
  void clear() {
    shared.release(reserved);
    reserved = 0;
    // A lent array may still be queued for a slow reader: the next message must not write over it.
    if (bytes.length > KEEP_AT_MOST || lent) {
      bytes = new byte[0];
    }
    lent = false;
    length = 0;
  }
}
