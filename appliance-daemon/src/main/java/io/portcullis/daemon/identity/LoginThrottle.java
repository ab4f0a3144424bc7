package io.portcullis.daemon.identity;

import io.portcullis.daemon.config.Lockout;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Failed logins counted per source address, as fail2ban does it: {@link Lockout#maxFailures} within
 * {@link Lockout#window} lock the address out for {@link Lockout#duration}, during which no password is even checked.
 * A success clears the address. Lives across commits (the limits come with each call); safe from any thread; bounded
 * in memory whatever the number of addresses trying.
 */
public final class LoginThrottle {
  static final int MAX_ADDRESSES = 100_000;

  private static final class Tracked {
    final Deque<Long> failures = new ArrayDeque<>();
    long lockedUntil;
  }

  private final Map<String, Tracked> byAddress = new ConcurrentHashMap<>();
  private final LongSupplier clock;
  private final java.util.concurrent.atomic.AtomicLong lockouts = new java.util.concurrent.atomic.AtomicLong();

  public LoginThrottle() {
    this(System::nanoTime);
  }

  LoginThrottle(LongSupplier nanoClock) {
    this.clock = nanoClock;
  }

  /** Seconds {@code address} stays locked out (0: it may try). */
  public long lockedFor(String address) {
    Tracked t = byAddress.get(address);
    if (t == null) {
      return 0;
    }
    synchronized (t) {
      long left = t.lockedUntil - clock.getAsLong();
      return left > 0 ? Math.max(1, left / 1_000_000_000L) : 0;
    }
  }

  /** Records a failed login from {@code address}; true if it has just been locked out by it. */
  public boolean failed(String address, Lockout rule) {
    if (rule.maxFailures() <= 0) {
      return false;
    }
    if (byAddress.size() >= MAX_ADDRESSES) {
      prune();
    }
    Tracked t = byAddress.computeIfAbsent(address, a -> new Tracked());
    synchronized (t) {
      long now = clock.getAsLong();
      long windowStart = now - rule.window().toNanos();
      while (!t.failures.isEmpty() && t.failures.peekFirst() - windowStart < 0) {
        t.failures.removeFirst();
      }
      t.failures.addLast(now);
      if (t.failures.size() >= rule.maxFailures() && t.lockedUntil - now <= 0) {
        t.lockedUntil = now + rule.duration().toNanos();
        t.failures.clear();
        lockouts.incrementAndGet();
        return true;
      }
      return false;
    }
  }

  /** A successful login from {@code address}: its failures are forgotten. */
  public void succeeded(String address) {
    byAddress.remove(address);
  }

  /** Lockouts so far (a metric). */
  public long lockouts() {
    return lockouts.get();
  }

  /** Addresses tracked now. */
  int tracked() {
    return byAddress.size();
  }

  private void prune() {
    long now = clock.getAsLong();
    byAddress.entrySet().removeIf(e -> {
      synchronized (e.getValue()) {
        return e.getValue().lockedUntil - now <= 0;
      }
    });
    if (byAddress.size() >= MAX_ADDRESSES) {
      byAddress.clear(); // a flood of addresses, all locked: forget rather than grow without bound
    }
  }
}
