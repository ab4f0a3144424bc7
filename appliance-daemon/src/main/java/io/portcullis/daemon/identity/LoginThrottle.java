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
 * A success does not clear them (as with fail2ban): else a guesser with an account of his own would reset his count
 * between guesses at another's. IPv6 addresses count by /64, what one host is given. Lives across commits (the limits
 * come with each call); safe from any thread; bounded in memory, never by forgetting a locked-out address.
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
    Tracked t = byAddress.get(key(address));
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
    String key = key(address);
    if (byAddress.size() >= MAX_ADDRESSES && !byAddress.containsKey(key)) {
      prune();
      if (byAddress.size() >= MAX_ADDRESSES) {
        return false; // a flood of locked-out addresses: the newcomer is not counted rather than one forgotten
      }
    }
    Tracked t = byAddress.computeIfAbsent(key, a -> new Tracked());
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

  /** The unit failures are counted by: the address, or an IPv6 address's /64. */
  static String key(String address) {
    if (address == null || address.indexOf(':') < 0) {
      return address;
    }
    try {
      byte[] b = java.net.InetAddress.getByName(address).getAddress(); // a literal (it has ':'): no DNS
      if (b.length != 16) {
        return java.net.InetAddress.getByAddress(b).getHostAddress(); // an IPv4-mapped address
      }
      return java.util.HexFormat.of().formatHex(b, 0, 8) + "::/64";
    } catch (java.io.IOException e) {
      return address;
    }
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
        return e.getValue().lockedUntil - now <= 0; // not locked out: only its recent failures are forgotten
      }
    });
  }
}
