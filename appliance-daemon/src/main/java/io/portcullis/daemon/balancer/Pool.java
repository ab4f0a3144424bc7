package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.HostPort;
import io.vertx.core.Future;
import io.vertx.core.net.NetSocket;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.function.Function;

/**
 * The keep-alive connections of one event loop to one server: idle ones (the last used first), at most
 * {@code max} open, requests beyond that waiting in order for one to come back (failed after the connect timeout).
 */
final class Pool {
  private final Function<HostPort, Future<NetSocket>> connector;
  private final HostPort address;
  private final int max;
  private final long idleNanos;
  private final long waitNanos;
  private final ArrayDeque<Upstream> idle = new ArrayDeque<>();
  private final ArrayDeque<HttpRelay> waiters = new ArrayDeque<>();
  private final ArrayDeque<Long> waitingSince = new ArrayDeque<>();
  private int open;

  Pool(Function<HostPort, Future<NetSocket>> connector, HostPort address, int max, Duration idle, Duration wait) {
    this.connector = connector;
    this.address = address;
    this.max = Math.max(1, max);
    this.idleNanos = idle.toNanos();
    this.waitNanos = wait.toNanos();
  }

  /** Gives {@code r} a connection: an idle one now, a new one when connected, or one freed later. */
  void acquire(HttpRelay r) {
    Upstream u;
    while ((u = idle.pollFirst()) != null) {
      if (u.channel.isActive()) {
        r.attached(u);
        return;
      }
    }
    if (open < max) {
      connect(r);
    } else {
      waiters.addLast(r);
      waitingSince.addLast(System.nanoTime());
    }
  }

  private void connect(HttpRelay r) {
    open++;
    connector.apply(address).onComplete(ar -> {
      if (ar.failed()) {
        open--;
        r.connectFailed(ar.cause());
        serveWaiter();
        return;
      }
      r.attached(new Upstream(this, ar.result()));
    });
  }

  /** A clean connection back from a relay: to the first waiter, else idle. */
  void release(Upstream u) {
    if (!u.channel.isActive()) {
      return;
    }
    HttpRelay w = waiters.pollFirst();
    if (w != null) {
      waitingSince.pollFirst();
      w.attached(u);
      return;
    }
    u.idleSince = System.nanoTime();
    idle.addFirst(u);
  }

  /** {@code u} becomes a tunnel: it no longer counts against {@code max}. */
  void detach(Upstream u) {
    if (!u.detached) {
      u.detached = true;
      open--;
      serveWaiter();
    }
  }

  void closed(Upstream u) {
    idle.remove(u);
    if (!u.detached) {
      u.detached = true;
      open--;
    }
    serveWaiter();
  }

  private void serveWaiter() {
    if (!waiters.isEmpty() && open < max) {
      waitingSince.pollFirst();
      connect(waiters.pollFirst());
    }
  }

  /** Closes connections idle longer than the idle timeout; fails requests that waited longer than the wait. */
  void sweep(long now) {
    Upstream u;
    while ((u = idle.peekLast()) != null && now - u.idleSince > idleNanos) {
      idle.pollLast();
      u.channel.close();
    }
    while (!waiters.isEmpty() && (now - waitingSince.peekFirst() > waitNanos
        || waiters.peekFirst().closed())) {
      waitingSince.pollFirst();
      waiters.pollFirst().connectFailed(new IllegalStateException("no free connection to " + address + " within "
          + waitNanos / 1_000_000 + " ms"));
    }
  }

  /** Closes the idle connections (the verticle stops). */
  void close() {
    idle.forEach(x -> x.channel.close());
    idle.clear();
  }
}
