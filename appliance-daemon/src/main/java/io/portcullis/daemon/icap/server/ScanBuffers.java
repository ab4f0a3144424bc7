package io.portcullis.daemon.icap.server;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The body bytes that all the ICAP server's connections hold to scan, counted against {@code icap.maxBufferedBytes}:
 * each connection may hold up to {@code scan.maxSize}, and without a shared bound many of them would outgrow the heap.
 */
final class ScanBuffers {
  private final AtomicLong held = new AtomicLong();

  /** Takes {@code n} bytes if the total stays within {@code max}; false (and nothing taken) otherwise. */
  boolean reserve(long n, long max) {
    for (;;) {
      long h = held.get();
      if (h + n > max) {
        return false;
      }
      if (held.compareAndSet(h, h + n)) {
        return true;
      }
    }
  }

  /** Gives back {@code n} bytes taken by {@link #reserve}. */
  void release(long n) {
    held.addAndGet(-n);
  }

  /** Bytes held now. */
  long held() {
    return held.get();
  }
}
