package io.portcullis.daemon.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class HeapCompactorTest {
  private static final HotSpotDiagnosticMXBean HS = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);

  private static String ratios() {
    return HS.getVMOption("MinHeapFreeRatio").getValue() + "/" + HS.getVMOption("MaxHeapFreeRatio").getValue();
  }

  private static void awaitCompactions(HeapCompactor c, int n) throws InterruptedException {
    for (int i = 0; i < 600 && c.compactions() < n; i++) {
      Thread.sleep(50);
    }
    assertEquals(n, c.compactions(), "compactions that ran");
  }

  @Test
  void aCompactionRunsAndPutsTheHeapFreeRatiosBackAsTheyWere() throws Exception {
    String before = ratios();
    HeapCompactor c = new HeapCompactor(true, 0);
    try {
      c.request();
      awaitCompactions(c, 1);
      // Left at 10/30 %, G1 shrank the heap at every concurrent cycle under load (a third of the throughput).
      assertEquals(before, ratios(), "MinHeapFreeRatio/MaxHeapFreeRatio after the compaction");
      c.request();
      awaitCompactions(c, 2);
      assertEquals(before, ratios());
    } finally {
      c.stop();
    }
  }

  @Test
  void requestsWhileOneIsWaitingFoldIntoIt() throws Exception {
    HeapCompactor c = new HeapCompactor(true, 60_000);
    try {
      c.request();
      c.request();
      c.request();
      assertEquals(1, c.queued(), "one collection scheduled for three requests");
      assertEquals(0, c.compactions(), "none before the delay");
    } finally {
      c.stop();
    }
  }

  @Test
  void turnedOffItNeverSchedulesACollection() {
    HeapCompactor c = new HeapCompactor(false, 0);
    try {
      c.request();
      assertFalse(c.pending());
      assertEquals(0, c.compactions());
    } finally {
      c.stop();
    }
  }
}
