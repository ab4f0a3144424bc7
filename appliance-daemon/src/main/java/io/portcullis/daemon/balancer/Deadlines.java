package io.portcullis.daemon.balancer;

import io.netty.channel.EventLoop;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A client connection's two deadlines: a request head must be whole within the header timeout of its first byte,
 * and some byte must move within the idle timeout. One timer, re-armed for whichever comes first.
 */
final class Deadlines {
  private final long headerTimeout;
  private final long idleTimeout;
  private boolean headStarted;
  private long headStart;
  private long lastActivity = System.nanoTime();
  private ScheduledFuture<?> timer;

  Deadlines(Duration header, Duration idle) {
    this.headerTimeout = header.toNanos();
    this.idleTimeout = idle.toNanos();
  }

  /** A byte moved. */
  void activity() {
    lastActivity = System.nanoTime();
  }

  /** The walk of a request head has begun (the header clock starts at its first call). */
  void headBegins() {
    if (!headStarted) {
      headStarted = true;
      headStart = System.nanoTime();
    }
  }

  /** The next request's head is yet to come. */
  void nextHead() {
    headStarted = false;
  }

  /** The header timeout in milliseconds, for a log line. */
  long headerMillis() {
    return headerTimeout / 1_000_000;
  }

  /**
   * Checks both deadlines on {@code loop} until {@code alive} is false: {@code late} runs when a begun head that
   * {@code inHead} says is still coming is past its deadline, {@code idle} when nothing moved for too long.
   */
  void watch(EventLoop loop, BooleanSupplier alive, BooleanSupplier inHead, Runnable late, Runnable idle) {
    schedule(loop, Math.min(headerTimeout, idleTimeout), alive, inHead, late, idle);
  }

  private void schedule(EventLoop loop, long delay, BooleanSupplier alive, BooleanSupplier inHead, Runnable late,
      Runnable idle) {
    timer = loop.schedule(() -> {
      if (!alive.getAsBoolean()) {
        return;
      }
      long now = System.nanoTime();
      long next = Math.min(headerTimeout, idleTimeout);
      if (headStarted && inHead.getAsBoolean()) {
        long left = headStart + headerTimeout - now;
        if (left <= 0) {
          late.run();
          return;
        }
        next = Math.min(next, left);
      }
      long idleLeft = lastActivity + idleTimeout - now;
      if (idleLeft <= 0) {
        idle.run();
        return;
      }
      schedule(loop, Math.min(next, idleLeft), alive, inHead, late, idle);
    }, delay, TimeUnit.NANOSECONDS);
  }

  /** Stops the checks. */
  void cancel() {
    if (timer != null) {
      timer.cancel(false);
    }
  }
}
