package io.portcullis.daemon.proxy;

import io.portcullis.daemon.icap.codec.DecisionHeaders;
import io.portcullis.daemon.icap.codec.IcapResponse;

/**
 * What one exchange's access-log line and traffic event will say, filled in by the steps as the exchange goes:
 * who asked, who answered, what decided and how long each part took.
 */
public final class ExchangeRecord {
  /** The rule type of the proxy's own checks (clients, ports, destinations, authentication, ICAP failures). */
  public static final String PROXY_CHECK = "proxy";

  public final long start = System.currentTimeMillis();
  public final long startNanos = System.nanoTime();
  /** The client's address as taken (proxy.followXForwardedFor), null if unknown. */
  public final String client;
  public BasicAuth.User user;
  /** Squid's result code for the access log, when not derived from the status. */
  public String code;
  /** The origin contacted, if any. */
  public String peer;
  /** Bytes sent to the client through a CONNECT tunnel; -1: not a tunnel. */
  public long tunnelled = -1;
  /** Refused before it could be read as a request. */
  public boolean invalid;
  /** The origin's host, once the request could be read. */
  public String host;
  /** Time spent waiting for ICAP answers. */
  public long icapNanos;
  /** From asking the origin to its answer's head; -1: not asked. */
  public long upstreamNanos = -1;
  public String action;
  public String ruleType;
  public String rule;
  public String category;
  public String threat;
  public String fileType;
  /** What HTTPS inspection did with the tunnel (inspect, tunnel, block, error); null: no TLS through us. */
  public String tls;
  /** The server name the tunnel's ClientHello asked for, if any. */
  public String sni;

  public ExchangeRecord(String client) {
    this.client = client;
  }

  /** The proxy's own decision: {@code rule} names the setting that made it. */
  public void decide(String action, String rule) {
    this.action = action;
    this.ruleType = PROXY_CHECK;
    this.rule = rule;
  }

  /** The user's name, or null before (or without) authentication. */
  public String userName() {
    return user == null ? null : user.name();
  }

  /**
   * Takes in what an ICAP answer decided. A later answer (RESPMOD) wins over an earlier one (REQMOD) unless it only
   * allows what an earlier rule already named.
   */
  public void icapAnswered(IcapResponse r, int originStatus) {
    DecisionHeaders.Decision d = DecisionHeaders.read(r, originStatus);
    if (!d.action().equals("allow") || action == null || rule == null && d.ruleType() != null) {
      action = d.action();
      ruleType = d.ruleType();
      rule = d.rule();
      category = d.category() != null ? d.category() : category;
      threat = d.threat();
    }
    fileType = d.fileType() != null ? d.fileType() : fileType;
  }
}
