package io.portcullis.daemon.balancer;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a server's traffic and checks have shown: its health (rise/fall counting), active connections and totals.
 * Shared by all event loops; kept across commits that keep the server.
 */
public final class ServerStats {
  private final AtomicInteger active = new AtomicInteger();
  private final LongAdder total = new LongAdder();
  private final LongAdder errors = new LongAdder();
  private final LongAdder stateChanges = new LongAdder();
  private volatile boolean up = true; // as HAProxy: a server is up until its checks say otherwise
  private int passed; // consecutive, by the one health checker only
  private int failed;
  private volatile String lastCheck = "none yet";
  private volatile long lastCheckMillis = -1;
  private volatile long lastChange = System.currentTimeMillis();

  public boolean up() {
    return up;
  }

  public int active() {
    return active.get();
  }

  public long total() {
    return total.sum();
  }

  public long errors() {
    return errors.sum();
  }

  public long stateChanges() {
    return stateChanges.sum();
  }

  public String lastCheck() {
    return lastCheck;
  }

  public long lastCheckMillis() {
    return lastCheckMillis;
  }

  public long lastChange() {
    return lastChange;
  }

  /** Counts a new connection in unless {@code max} (0: none) are open already; false leaves nothing counted. */
  boolean tryOpen(int max) {
    while (true) {
      int now = active.get();
      if (max > 0 && now >= max) {
        return false;
      }
      if (active.compareAndSet(now, now + 1)) {
        total.increment();
        return true;
      }
    }
  }

  void closed() {
    active.decrementAndGet();
  }

  void failed() {
    errors.increment();
  }

  /**
   * Counts one check's result; returns the new state if this check changed it ({@code fall} failures in a row take
   * an up server down, {@code rise} passes bring a down one up), else null.
   */
  final java.util.concurrent.atomic.LongAdder checksPassed = new java.util.concurrent.atomic.LongAdder();
  final java.util.concurrent.atomic.LongAdder checksFailed = new java.util.concurrent.atomic.LongAdder();

  synchronized Boolean checked(boolean ok, String detail, long millis, int rise, int fall) {
    lastCheck = (ok ? "passed" : "failed") + ": " + detail;
    (ok ? checksPassed : checksFailed).increment();
    lastCheckMillis = millis;
    if (ok) {
      failed = 0;
      passed++;
      if (!up && passed >= rise) {
        return change(true);
      }
    } else {
      passed = 0;
      failed++;
      if (up && failed >= fall) {
        return change(false);
      }
    }
    return null;
  }

  /** Checks are off (type none): the server counts as up. */
  synchronized Boolean unchecked() {
    lastCheck = "not checked";
    passed = 0;
    failed = 0;
    return up ? null : change(true);
  }

  private Boolean change(boolean now) {
    up = now;
    lastChange = System.currentTimeMillis();
    stateChanges.increment();
    return now;
  }
}
