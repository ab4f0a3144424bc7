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

  /** Origin certificates refused for {@code reason}. */
  public long untrustedCount(OriginTrust.Reason reason) {
    return untrusted.get(reason).sum();
  }
}
