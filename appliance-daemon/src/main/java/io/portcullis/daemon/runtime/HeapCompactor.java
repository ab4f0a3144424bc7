package io.portcullis.daemon.runtime;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.ManagementFactory;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives back to the OS the heap that reading and compiling a config left behind, once that config is in effect.
 * Without it the JVM keeps the peak of the last commit committed for good: a node with 100 000 rules idled at over
 * 700 MiB RSS for a live heap of about 100 MiB. The JVM only shrinks its heap in a full collection, and then by the
 * free-ratio flags (defaults 40/70 % free keep three times the live set), so this tightens those flags unless the
 * admin set them, and asks for one collection a moment after each start or commit (a pause of well under a second,
 * once per commit, never under steady traffic).
 */
public final class HeapCompactor {
  private static final Logger LOG = LoggerFactory.getLogger(HeapCompactor.class);
  private static final long DELAY_MS = 1500;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-heap-compactor");
    t.setDaemon(true);
    return t;
  });
  private final AtomicBoolean scheduled = new AtomicBoolean();

  public HeapCompactor() {
    tuneFreeRatios();
  }

  /** Compacts the heap once, DELAY_MS from now (requests in between are folded into that one). */
  public void request() {
    if (scheduled.compareAndSet(false, true)) {
      timer.schedule(this::compact, DELAY_MS, TimeUnit.MILLISECONDS);
    }
  }

  private void compact() {
    scheduled.set(false);
    Runtime rt = Runtime.getRuntime();
    long before = rt.totalMemory();
    long t0 = System.nanoTime();
    System.gc();
    LOG.debug("heap compacted in {} ms: committed {} -> {} MiB, in use {} MiB", (System.nanoTime() - t0) / 1_000_000,
        before >> 20, rt.totalMemory() >> 20, (rt.totalMemory() - rt.freeMemory()) >> 20);
  }

  public void stop() {
    timer.shutdownNow();
  }

  // Min first: the JVM refuses a MaxHeapFreeRatio below the current MinHeapFreeRatio.
  private static void tuneFreeRatios() {
    try {
      HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
      VMOption min = hs.getVMOption("MinHeapFreeRatio");
      VMOption max = hs.getVMOption("MaxHeapFreeRatio");
      if (min.getOrigin() == VMOption.Origin.DEFAULT && max.getOrigin() == VMOption.Origin.DEFAULT) {
        hs.setVMOption("MinHeapFreeRatio", "10");
        hs.setVMOption("MaxHeapFreeRatio", "30");
      }
    } catch (RuntimeException e) {
      LOG.debug("heap free ratios left as they are: {}", e.toString()); // another JVM, or flags not manageable
    }
  }
}
