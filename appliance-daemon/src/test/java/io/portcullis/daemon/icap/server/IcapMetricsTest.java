package io.portcullis.daemon.icap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class IcapMetricsTest {

  private static double count(SimpleMeterRegistry r, String method, String decision, String status) {
    var c = r.find("portcullis.icap.transactions").tags("method", method, "decision", decision, "status", status)
        .counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void transactionsOfChangingKindsOnOneConnectionAreEachCountedUnderTheirOwnTags() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    IcapMetrics metrics = new IcapMetrics(registry, new ScanBuffers());
    IcapMetrics.Last one = new IcapMetrics.Last();
    IcapMetrics.Last other = new IcapMetrics.Last();
    // The method as the decoder gives it: a new String each time, equal but not the same.
    for (int i = 0; i < 3; i++) {
      metrics.transaction(one, new String("REQMOD"), "allow", 204, 1_000);
    }
    metrics.transaction(one, "REQMOD", "block", 200, 1_000);
    metrics.transaction(one, "REQMOD", "allow", 204, 1_000);
    metrics.transaction(one, "REQMOD", "allow", 200, 1_000);
    metrics.transaction(one, "RESPMOD", "allow", 200, 1_000);
    metrics.transaction(other, "REQMOD", "allow", 204, 1_000);
    assertEquals(5, count(registry, "REQMOD", "allow", "204"));
    assertEquals(1, count(registry, "REQMOD", "block", "200"));
    assertEquals(1, count(registry, "REQMOD", "allow", "200"));
    assertEquals(1, count(registry, "RESPMOD", "allow", "200"));
    assertEquals(7, registry.find("portcullis.icap.transaction.duration").tags("method", "REQMOD").timer().count());
    assertEquals(1, registry.find("portcullis.icap.transaction.duration").tags("method", "RESPMOD").timer().count());
  }
}
