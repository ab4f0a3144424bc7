package io.portcullis.daemon.tls;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** What HTTPS inspection did, node-wide and across commits: read by the metrics on the admin port. */
public final class TlsCounters {
  /** Tunnels decided, by the decision (inspect, tunnel, block). */
  public final LongAdder inspected = new LongAdder();
  public final LongAdder tunnelled = new LongAdder();
  public final LongAdder blocked = new LongAdder();
  /** Client handshakes completed on inspected tunnels, and those that failed (the client did not trust us, say). */
  public final LongAdder handshakes = new LongAdder();
  public final LongAdder handshakeFailures = new LongAdder();
  /** Per-host certificates found made, and made. */
  public final LongAdder certificateHits = new LongAdder();
  public final LongAdder certificateMisses = new LongAdder();
  private final Map<OriginTrust.Reason, LongAdder> untrusted = new EnumMap<>(OriginTrust.Reason.class);

  public TlsCounters() {
    for (OriginTrust.Reason r : OriginTrust.Reason.values()) {
      untrusted.put(r, new LongAdder());
    }
  }

  /** Counts an origin certificate refused for {@code reason}. */
  public void untrusted(OriginTrust.Reason reason) {
    untrusted.get(reason).increment();
  }

  /** Puts these counters on {@code registry} (the admin port's /metrics). */
  public void register(io.micrometer.core.instrument.MeterRegistry registry) {
    for (var d : Map.of("inspect", inspected, "tunnel", tunnelled, "block", blocked).entrySet()) {
      io.micrometer.core.instrument.FunctionCounter.builder("portcullis.tls.tunnels", d.getValue(), LongAdder::sum)
          .tag("decision", d.getKey()).description("CONNECT tunnels by what the peek decided").register(registry);
    }
    for (var d : Map.of("ok", handshakes, "failed", handshakeFailures).entrySet()) {
      io.micrometer.core.instrument.FunctionCounter.builder("portcullis.tls.handshakes", d.getValue(), LongAdder::sum)
          .tag("result", d.getKey()).description("client TLS handshakes on inspected tunnels (failed: the client "
              + "refused our certificate, say)").register(registry);
    }
    for (var d : Map.of("hit", certificateHits, "miss", certificateMisses).entrySet()) {
      io.micrometer.core.instrument.FunctionCounter.builder("portcullis.tls.certificates", d.getValue(),
          LongAdder::sum).tag("cache", d.getKey())
          .description("per-host certificates found made (hit) or made (miss)").register(registry);
    }
    for (OriginTrust.Reason r : OriginTrust.Reason.values()) {
      io.micrometer.core.instrument.FunctionCounter.builder("portcullis.tls.origin.untrusted", this,
          c -> c.untrustedCount(r)).tag("reason", r.words())
          .description("origin certificates refused, by reason").register(registry);
    }
  }

  /** Origin certificates refused for {@code reason}. */
  public long untrustedCount(OriginTrust.Reason reason) {
    return untrusted.get(reason).sum();
  }
}
