package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.icap.client.IcapService;
import java.util.List;

/**
 * What the proxy works from: its config section, the ICAP services it uses — those configured, or, when none are,
 * this node's own ICAP server (if it runs) — its users (null: no authentication), its access log (null: none),
 * where its traffic events go and what HTTPS inspection works with (its CA, certificates and origin trust).
 */
public record ProxySettings(ProxyConfig proxy, List<IcapService> reqmod, List<IcapService> respmod, String node,
    BasicAuth auth, AccessLog accessLog, List<io.portcullis.daemon.rules.CidrMatcher> allowedClients,
    io.portcullis.daemon.events.Events events, ClientConnections connections,
    List<io.portcullis.daemon.rules.CidrMatcher> unlimitedClients,
    List<io.portcullis.daemon.rules.CidrMatcher> followXForwardedFor, Destinations destinations,
    io.portcullis.daemon.identity.LoginThrottle logins, io.portcullis.daemon.tls.Interception interception,
    io.portcullis.daemon.rules.Policy policy) {

  /** The host name at which the proxy itself serves the inspection CA to users' browsers (see CaPage). */
  public static final String CA_PAGE_HOST = "portcullis.invalid";

  /** The settings of {@code c}; files it names (htpasswd, access log) are relative to {@code baseDir}. */
  public static ProxySettings of(Config c, java.nio.file.Path baseDir, io.portcullis.daemon.events.Events events,
      ClientConnections connections, io.portcullis.daemon.identity.LoginThrottle logins,
      io.portcullis.daemon.tls.Interception interception, io.portcullis.daemon.rules.Policy policy) {
    ProxyConfig p = c.proxy();
    String own = null;
    if (c.icap().enabled()) {
      own = "icap://" + c.icap().listen().localAuthority();
    }
    List<IcapService> req = p.icap().reqmod().isEmpty()
        ? (own == null ? List.of() : List.of(IcapService.parse(own + "/av/reqmod")))
        : p.icap().reqmod().stream().map(IcapService::parse).toList();
    List<IcapService> res = p.icap().respmod().isEmpty()
        ? (own == null ? List.of() : List.of(IcapService.parse(own + "/av/respmod")))
        : p.icap().respmod().stream().map(IcapService::parse).toList();
    return new ProxySettings(p, req, res, c.node().name(), BasicAuth.of(p.auth(), baseDir),
        p.accessLog().isEmpty() ? null : AccessLog.at(baseDir.resolve(p.accessLog()), p.accessLogMaxQueued()),
        p.allowedClients().stream().map(io.portcullis.daemon.rules.CidrMatcher::new).toList(), events, connections,
        p.unlimitedClients().stream().map(io.portcullis.daemon.rules.CidrMatcher::new).toList(),
        p.followXForwardedFor().stream().map(io.portcullis.daemon.rules.CidrMatcher::new).toList(),
        Destinations.of(c), logins, interception, policy);
  }
}
