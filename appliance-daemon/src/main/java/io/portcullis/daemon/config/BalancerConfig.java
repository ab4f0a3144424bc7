package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The balancer verticle: frontends, each spreading its traffic over its servers by one method. */
public record BalancerConfig(
    @Doc("run the balancer") @Default("false") boolean enabled,
    @Doc("the frontends: each listens on its own address and spreads what comes in over its servers")
    List<Frontend> frontends) implements Validatable {

  /** What a frontend balances: whole TCP connections, or HTTP requests (proxy traffic). */
  public enum Mode { HTTP, TCP }

  /** Which port of each cluster node a frontend adds as a server, if any. */
  public enum Members { NONE, PROXY, ICAP }

  /** The PROXY protocol header a tcp frontend sends a server first (HAProxy's send-proxy, send-proxy-v2), if any. */
  public enum SendProxy { NONE, V1, V2 }

  /** The balancing methods, as HAProxy names them. */
  public enum Method { ROUNDROBIN, LEASTCONN, SOURCE, FIRST, RANDOM }

  /** One frontend: a listening address and the servers behind it. */
  public record Frontend(
      @Doc("the frontend's name (in stats, metrics, logs and the HAProxy export)") String name,
      @Doc("address the frontend listens on") HostPort listen,
      @Doc("http: request by request (keep-alive on both sides, CONNECT tunnels); tcp: connection by connection, "
          + "byte for byte (ICAP)") @Default("http") Mode mode,
      @Doc("roundrobin (smooth, weighted), leastconn, source (consistent hash of the client address), first, "
          + "random (power of two choices)") @Default("roundrobin") Method method,
      @Doc("health checks of the servers") Check check,
      @Doc("the servers: name, address, weight, backup, state") List<Server> servers,
      @Doc("times a failed connection to a server is retried on another one") @Default("3") int retries,
      @Doc("time to connect to a server") @Default("5s") Duration connectTimeout,
      @Doc("close a client or server connection silent this long") @Default("5m") Duration idleTimeout,
      @Doc("client connections at once at most; beyond that new ones are closed") @Default("10000")
      int maxConnections,
      @Doc("http mode: pooled connections to one server at most") @Default("256") int maxConnectionsPerServer,
      @Doc("http mode: add X-Forwarded-For with the client's address") @Default("false") boolean xForwardedFor,
      @Doc("http mode: longest request line, bytes (longer: 414 and close)") @Default("8192") int maxRequestLine,
      @Doc("http mode: largest request header section, bytes (larger: 431 and close)") @Default("32768")
      int maxHeaderBytes,
      @Doc("http mode: most header lines in one request (more: 431 and close)") @Default("100") int maxHeaders,
      @Doc("http mode: time a client has to send a whole request head (408 after)") @Default("30s")
      Duration headerTimeout,
      @Doc("on a control node, add every node of cluster.nodes as a server: none, proxy (each node's proxy port) or "
          + "icap (each node's ICAP port); adding a node adds it to the pool") @Default("none") Members members,
      @Doc("client networks the frontend serves; a connection from elsewhere is closed (tcp) or gets 403 (http). The "
          + "nodes behind see the balancer's address, so this is where clients are checked")
      @Default("127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16") List<Cidr> allowedClients,
      @Doc("tcp mode: open each server connection with a PROXY protocol header carrying the client's address (v1: "
          + "the text line, v2: binary; HAProxy's send-proxy and send-proxy-v2), for servers that read it, such as "
          + "Squid's require-proxy-header ports; none: no header") @Default("none") SendProxy sendProxy)
      implements Validatable {

    /** This frontend with {@code list} as its servers. */
    public Frontend withServers(List<Server> list) {
      return new Frontend(name, listen, mode, method, check, List.copyOf(list), retries, connectTimeout, idleTimeout,
          maxConnections, maxConnectionsPerServer, xForwardedFor, maxRequestLine, maxHeaderBytes, maxHeaders,
          headerTimeout, members, allowedClients, sendProxy);
    }

    @Override
    public void validate(String path, Problems problems) {
      if (servers.isEmpty() && members == Members.NONE) {
        problems.add(path + ".servers", "a frontend needs at least one server (or members: proxy | icap)");
      }
      problems.between(path + ".retries", retries, 0, 100);
      problems.between(path + ".maxConnections", maxConnections, 1, 1_000_000);
      problems.between(path + ".maxConnectionsPerServer", maxConnectionsPerServer, 1, 100_000);
      problems.between(path + ".maxRequestLine", maxRequestLine, 256, 1024 * 1024);
      problems.between(path + ".maxHeaders", maxHeaders, 8, 10_000);
      problems.between(path + ".maxHeaderBytes", maxHeaderBytes, 1024, 1024 * 1024);
      if (sendProxy != SendProxy.NONE && mode != Mode.TCP) {
        problems.add(path + ".sendProxy", "needs mode: tcp (an http frontend tells the client's address in "
            + "X-Forwarded-For: xForwardedFor: true)");
      }
      if (sendProxy != SendProxy.NONE && check != null && check.port() == 0
          && (check.type() == CheckType.HTTP || check.type() == CheckType.ICAP)) {
        // the check would reach a port that expects the header first, without one
        problems.add(path + ".check.type", "with sendProxy the servers' port expects a PROXY header, which an "
            + check.type().name().toLowerCase(java.util.Locale.ROOT) + " check does not send: use type: tcp, or a "
            + "check.port of its own");
      }
      if (connectTimeout.isZero() || idleTimeout.isZero()) {
        problems.add(path + (connectTimeout.isZero() ? ".connectTimeout" : ".idleTimeout"), "must be more than 0s");
      }
    }
  }

  /** How a frontend checks its servers, apart from the traffic. */
  public record Check(
      @Doc("tcp (connect), http (GET path, expect a status), icap (OPTIONS, expect ICAP/1.0 200), or none")
      @Default("tcp") CheckType type,
      @Doc("http: the path to GET; icap: the service to ask for OPTIONS (default /av/reqmod)") @OptionalKey
      String path,
      @Doc("http: the statuses that mean up, e.g. [200, 204]; empty: any status below 500 (a forward proxy answers "
          + "a plain GET / with 400, and that still proves it serves)") List<Integer> expect,
      @Doc("check this port instead of the server's (e.g. a node's admin port for /health/ready); 0: the server's")
      @Default("0") int port,
      @Doc("time between two checks of a server") @Default("2s") Duration interval,
      @Doc("time a check may take") @Default("1s") Duration timeout,
      @Doc("consecutive passed checks that bring a down server up") @Default("2") int rise,
      @Doc("consecutive failed checks that take an up server down") @Default("3") int fall) implements Validatable {

    /** The path or service the check asks for. */
    public String target() {
      return path != null ? path : type == CheckType.ICAP ? "/av/reqmod" : "/";
    }

    @Override
    public void validate(String path, Problems problems) {
      if (this.path != null && !this.path.startsWith("/")) {
        problems.add(path + ".path", "\"" + this.path + "\" must start with /");
      }
      if (this.path != null && !this.path.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        problems.add(path + ".path", "must not hold spaces or control characters");
      }
      for (int i = 0; i < expect.size(); i++) {
        if (expect.get(i) < 100 || expect.get(i) > 599) {
          problems.add(path + ".expect[" + i + "]", expect.get(i) + " is not an HTTP status");
        }
      }
      if (port < 0 || port > 65535) {
        problems.add(path + ".port", port + " is not a port");
      }
      if (interval.toMillis() < 10) {
        problems.add(path + ".interval", "must be at least 10ms");
      }
      if (timeout.isZero()) {
        problems.add(path + ".timeout", "must be more than 0s");
      }
      problems.between(path + ".rise", rise, 1, 100);
      problems.between(path + ".fall", fall, 1, 100);
    }
  }

  /** The kinds of health check. */
  public enum CheckType { TCP, HTTP, ICAP, NONE }

  /** A server's administrative state: enabled, drain (no new traffic, checks go on), or disabled (maintenance). */
  public enum AdminState { ENABLED, DRAIN, DISABLED }

  /** One server of a frontend. */
  public record Server(
      @Doc("the server's name") String name,
      @Doc("the server's host:port") HostPort address,
      @Doc("its share of the traffic relative to the others (0 to 256; 0: none)") @Default("1") int weight,
      @Doc("used only when no other server is up") @Default("false") boolean backup,
      @Doc("enabled, drain (no new connections; open ones finish), or disabled (maintenance: no traffic, no checks)")
      @Default("enabled") AdminState state,
      @Doc("connections at once to this server at most (first fills a server up to it before the next); 0: no limit")
      @Default("0") int maxConnections) implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      problems.between(path + ".weight", weight, 0, 256);
      if (maxConnections < 0) {
        problems.add(path + ".maxConnections", "must not be negative");
      }
    }
  }

  /** This balancer with {@code list} as its frontends. */
  public BalancerConfig withFrontends(List<Frontend> list) {
    return new BalancerConfig(enabled, List.copyOf(list));
  }

  @Override
  public void validate(String path, Problems problems) {
    Map<HostPort, String> listens = new HashMap<>();
    for (int i = 0; i < frontends.size(); i++) {
      Frontend f = frontends.get(i);
      String first = listens.putIfAbsent(f.listen(), f.name());
      if (first != null) {
        problems.add(path + ".frontends[" + i + "].listen", f.listen() + " is already the listen of frontend " + first);
      }
    }
    if (enabled && frontends.isEmpty()) {
      problems.add(path + ".frontends", "the balancer is enabled but has no frontends");
    }
  }
}
