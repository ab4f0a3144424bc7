package io.portcullis.daemon.icap.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/** The ICAP server's counters on /metrics ({@code portcullis_icap_*}). */
final class IcapMetrics {
  private static final java.time.Duration[] BUCKETS = io.portcullis.daemon.events.Events.LATENCY_BUCKETS;

  private final MeterRegistry registry;
  private final Counter badRequests;
  private final Counter refused;
  private final Counter denied;
  private final Counter buffersFull;

  IcapMetrics(MeterRegistry registry, ScanBuffers buffers) {
    this.registry = registry;
    this.badRequests = Counter.builder("portcullis.icap.bad.requests")
        .description("ICAP messages refused with 400 (malformed or beyond limits)").register(registry);
    this.refused = Counter.builder("portcullis.icap.refused.connections")
        .description("connections refused with 503 beyond icap.maxConnections").register(registry);
    this.denied = Counter.builder("portcullis.icap.denied.clients")
        .description("connections closed at accept: the client is not in icap.allowedClients").register(registry);
    this.buffersFull = Counter.builder("portcullis.icap.scan.buffers.full")
        .description("bodies not scanned because icap.maxBufferedBytes was reached (the rule's onError decided)")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder("portcullis.icap.buffered.bytes", buffers, ScanBuffers::held)
        .description("body bytes the ICAP server holds to scan, all connections together").register(registry);
  }

  void buffersFull() {
    buffersFull.increment();
  }

  void denied() {
    denied.increment();
  }

  private final java.util.concurrent.ConcurrentHashMap<String, Counter> transactions =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.ConcurrentHashMap<String, Timer> durations =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The meters of a connection's last kind of transaction (method, decision, status): a connection mostly repeats
   * one kind (Squid's REQMODs answered 204), and building the key and looking it up per transaction was 4 % of the
   * JVM's Java samples (JFR, small REQMODs). One per connection: not shared between threads.
   */
  static final class Last {
    private String method;
    private String decision;
    private int status;
    private Counter counter;
    private Timer timer;
  }

  void transaction(Last last, String method, String decision, int status, long nanos) {
    if (last.counter == null || last.status != status || !last.decision.equals(decision)
        || !last.method.equals(method)) {
      // Meters are looked up in a local map: registering through the builder per transaction costs far more.
      last.counter = transactions.computeIfAbsent(method + '|' + decision + '|' + status, k -> Counter
          .builder("portcullis.icap.transactions").description("ICAP transactions by method, decision and status")
          .tag("method", method).tag("decision", decision).tag("status", Integer.toString(status))
          .register(registry));
      last.timer = durations.computeIfAbsent(method, k -> Timer.builder("portcullis.icap.transaction.duration")
          .description("time from ICAP head to answer").tag("method", method).serviceLevelObjectives(BUCKETS)
          .register(registry));
      last.method = method;
      last.decision = decision;
      last.status = status;
    }
    last.counter.increment();
    last.timer.record(nanos, TimeUnit.NANOSECONDS);
  }

  void scan(io.portcullis.daemon.scan.ScanResult result, long nanos) {
    String outcome = result instanceof io.portcullis.daemon.scan.ScanResult.Infected ? "infected"
        : result instanceof io.portcullis.daemon.scan.ScanResult.Failed ? "error" : "clean";
    Counter.builder("portcullis.scan.results").description("body scans by outcome").tag("outcome", outcome)
        .register(registry).increment();
    Timer.builder("portcullis.scan.duration").description("time to scan one body").serviceLevelObjectives(BUCKETS)
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  void badRequest() {
    badRequests.increment();
  }

  void refused() {
    refused.increment();
  }
}
