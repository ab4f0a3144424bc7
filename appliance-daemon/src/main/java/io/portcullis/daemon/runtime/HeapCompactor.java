package io.portcullis.daemon.runtime;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives back to the OS the heap that reading and compiling a config left behind. Without it the JVM keeps the peak
 * of the last commit committed for good: a node with 100 000 rules idled at over 700 MiB RSS for a live heap of
 * about 100 MiB. The JVM shrinks its heap only in a full collection, by the free-ratio flags (defaults 40/70 % free
 * keep three times the live set); so, unless the admin set them, this tightens those flags to 10/30 % and runs one
 * full collection a moment after each start and each config change. That is a stop-the-world pause (logged; 0.3 s
 * for 100 000 rules on a busy 2-core machine), once per commit, which traffic already feels as the policy is swapped; G1's periodic
 * collection was tried instead and never reclaims it on an idle node (its concurrent cycle frees no mixed region).
 * {@code -Dportcullis.compactHeap=false} (in PORTCULLIS_JAVA_OPTS) turns it off.
 */
public final class HeapCompactor {
  private static final Logger LOG = LoggerFactory.getLogger(HeapCompactor.class);
  private static final long DELAY_MS = 1500;
  private final boolean enabled = !"false".equals(System.getProperty("portcullis.compactHeap"));
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-heap-compactor");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean scheduled = new AtomicBoolean();

  public HeapCompactor() {
    if (enabled) {
      tuneFreeRatios();
    }
  }

  /** After a start or commit: one full collection DELAY_MS from now (requests in between fold into it). */
  public void request() {
    if (!enabled || !scheduled.compareAndSet(false, true)) {
      return;
    }
    try {
      timer.schedule(this::compact, DELAY_MS, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      scheduled.set(false); // stopping
    }
  }

  private void compact() {
    scheduled.set(false);
    Runtime rt = Runtime.getRuntime();
    long before = rt.totalMemory();
    long t0 = System.nanoTime();
    System.gc();
    LOG.info("heap compacted after a config change: {} ms pause, committed {} -> {} MiB, {} MiB in use",
        (System.nanoTime() - t0) / 1_000_000, before >> 20, rt.totalMemory() >> 20,
        (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  public void stop() {
    timer.shutdownNow();
  }

  /** Min first: the JVM refuses a MaxHeapFreeRatio below the current MinHeapFreeRatio. */
  private static void tuneFreeRatios() {
    try {
      HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      if (isDefault(hs, "MinHeapFreeRatio") && isDefault(hs, "MaxHeapFreeRatio")) {
        hs.setVMOption("MinHeapFreeRatio", "10");
        hs.setVMOption("MaxHeapFreeRatio", "30");
      }
    } catch (RuntimeException | LinkageError e) {
      LOG.debug("heap free ratios left as they are: {}", e.toString()); // another JVM, or flags not manageable
    }
  }

  private static boolean isDefault(HotSpotDiagnosticMXBean hs, String flag) {
    return hs.getVMOption(flag).getOrigin() == VMOption.Origin.DEFAULT;
  }
}
