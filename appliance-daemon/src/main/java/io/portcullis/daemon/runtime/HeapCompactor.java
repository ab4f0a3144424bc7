package io.portcullis.daemon.runtime;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives back to the OS the heap that reading and compiling a config left behind. Without it the JVM keeps the peak
 * of the last commit committed for good: a node with 100 000 rules idled at over 700 MiB RSS for a live heap of
 * about 100 MiB. The JVM shrinks its heap only in a full collection, by the free-ratio flags (defaults 40/70 % free
 * keep three times the live set); so this runs one full collection a moment after each start and each config change
 * with those flags at 10/30 % for that collection only (unless the admin set them): left tight, G1 shrank the heap at
 * every concurrent cycle under load and a node with -Xmx512m served a third of its requests. That is a stop-the-world pause (logged; 0.3 s
 * for 100 000 rules on a busy 2-core machine), once per commit, which traffic already feels as the policy is swapped; G1's periodic
 * collection was tried instead and never reclaims it on an idle node (its concurrent cycle frees no mixed region).
 * {@code -Dportcullis.compactHeap=false} (in PORTCULLIS_JAVA_OPTS) turns it off.
 */
public final class HeapCompactor {
  private static final Logger LOG = LoggerFactory.getLogger(HeapCompactor.class);
  private static final long DELAY_MS = 1500;
  private final boolean enabled;
  private final long delayMs;
  private final java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
  private final java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
    Thread t = new Thread(r, "portcullis-heap-compactor");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean scheduled = new AtomicBoolean();
  // Read once per JVM, before any change: after ours the flags' origin is no longer DEFAULT, though the values are.
  private static final boolean OWN_RATIOS = defaultRatios();
  private static final Object GC_LOCK = new Object(); // several nodes in one JVM (tests): one compaction at a time

  public HeapCompactor() {
    this(!"false".equals(System.getProperty("portcullis.compactHeap")), DELAY_MS);
  }

  HeapCompactor(boolean enabled, long delayMs) {
    this.enabled = enabled;
    this.delayMs = delayMs;
  }

  /** After a start or commit: one full collection delayMs from now (requests in between fold into it). */
  public void request() {
    if (!enabled || !scheduled.compareAndSet(false, true)) {
      return;
    }
    try {
      timer.schedule(this::compact, delayMs, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      scheduled.set(false); // stopping
    }
  }

  private void compact() {
    scheduled.set(false);
    Runtime rt = Runtime.getRuntime();
    long before = rt.totalMemory();
    long t0 = System.nanoTime();
    synchronized (GC_LOCK) {
      String[] previous = OWN_RATIOS ? tightenFreeRatios() : null;
      try {
        System.gc();
      } finally {
        restoreFreeRatios(previous);
      }
    }
    done.incrementAndGet();
    LOG.info("heap compacted after a config change: {} ms pause, committed {} -> {} MiB, {} MiB in use",
        (System.nanoTime() - t0) / 1_000_000, before >> 20, rt.totalMemory() >> 20,
        (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  /** Whether a compaction is waiting to run. */
  boolean pending() {
    return scheduled.get();
  }

  /** How many compactions are scheduled. */
  int queued() {
    return timer.getQueue().size();
  }

  /** How many compactions ran. */
  int compactions() {
    return done.get();
  }

  public void stop() {
    timer.shutdownNow();
  }

  /** True when the admin left the free ratios alone (no -XX flag). */
  private static boolean defaultRatios() {
    try {
      HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      return isDefault(hs, "MinHeapFreeRatio") && isDefault(hs, "MaxHeapFreeRatio");
    } catch (RuntimeException | LinkageError e) {
      return false;
    }
  }

  /** Sets the free ratios to 10/30 %; returns the values to restore, or null if they could not be set. */
  private static String[] tightenFreeRatios() {
    try {
      HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      String[] previous = {hs.getVMOption("MinHeapFreeRatio").getValue(), hs.getVMOption("MaxHeapFreeRatio").getValue()};
      hs.setVMOption("MinHeapFreeRatio", "10"); // Min first: the JVM refuses a Max below the current Min
      hs.setVMOption("MaxHeapFreeRatio", "30");
      return previous;
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("heap free ratios left as they are: {}", e.toString()); // another JVM, or flags not manageable
      return null;
    }
  }

  private static void restoreFreeRatios(String[] previous) {
    if (previous == null) {
      return;
    }
    try {
      HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      hs.setVMOption("MaxHeapFreeRatio", previous[1]); // Max first, going up
      hs.setVMOption("MinHeapFreeRatio", previous[0]);
    } catch (RuntimeException | LinkageError e) {
      LOG.warn("heap free ratios not restored: {}", e.toString());
    }
  }

  private static boolean isDefault(HotSpotDiagnosticMXBean hs, String flag) {
    return hs.getVMOption(flag).getOrigin() == VMOption.Origin.DEFAULT;
  }
}
