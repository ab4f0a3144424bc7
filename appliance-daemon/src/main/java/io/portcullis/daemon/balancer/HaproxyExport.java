package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.BalancerConfig.CheckType;
import io.portcullis.daemon.config.BalancerConfig.Frontend;
import io.portcullis.daemon.config.BalancerConfig.Mode;
import io.portcullis.daemon.config.HostPort;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Renders the balancer's layout as a haproxy.cfg (HAProxy 2.2 or later) for those who run HAProxy instead: the same
 * frontends, servers, weights, method and checks, with an ICAP-aware check (OPTIONS, expect {@code ICAP/1.0 200})
 * for tcp frontends checked by icap. All frontends in one file is the one-balancer form; one frontend per file
 * (HTTP and ICAP on separate HAProxies) the two-balancer form.
 */
public final class HaproxyExport {
  private HaproxyExport() {
  }

  /** The haproxy.cfg for {@code frontends} of {@code config} (all of them when the list is empty). */
  public static String render(BalancerConfig config, List<String> frontends, String node, int revision) {
    List<Frontend> chosen = config.frontends().stream()
        .filter(f -> frontends.isEmpty() || frontends.contains(f.name())).toList();
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException(frontends.isEmpty() ? "the balancer has no frontends"
          : "no frontend named " + String.join(", ", frontends) + " (there are: "
          + config.frontends().stream().map(Frontend::name).collect(Collectors.joining(", ")) + ")");
    }
    StringBuilder b = new StringBuilder();
    b.append("# haproxy.cfg made by Portcullis from the balancer config of node ").append(node)
        .append(", revision ").append(revision).append(".\n")
        .append("# Check it with: haproxy -c -f haproxy.cfg\n\n")
        .append("global\n")
        // No global maxconn: HAProxy then derives it from the file-descriptor limit it is given (LimitNOFILE),
        // where a fixed figure could exceed that limit and stop it from starting.
        .append("    log stdout format raw local0\n\n")
        .append("defaults\n")
        .append("    log global\n")
        .append("    option dontlognull\n")
        .append("    option redispatch\n")
        .append("    timeout connect 5s\n")
        .append("    timeout client 5m\n")
        .append("    timeout server 5m\n");
    for (Frontend f : chosen) {
      frontend(b, f);
    }
    return b.toString();
  }

  private static void frontend(StringBuilder b, Frontend f) {
    String mode = f.mode() == Mode.HTTP ? "http" : "tcp";
    b.append("\nfrontend ").append(f.name()).append('\n')
        .append("    bind ").append(address(f.listen())).append('\n')
        .append("    mode ").append(mode).append('\n')
        .append("    maxconn ").append(f.maxConnections()).append('\n')
        .append("    timeout client ").append(ms(f.idleTimeout())).append('\n');
    // allowedClients: HAProxy's src ACL (an empty list serves no one, as ours does).
    String allowed = f.allowedClients().stream().map(Object::toString).collect(Collectors.joining(" "));
    if (!allowed.isEmpty()) {
      b.append("    acl allowed_clients src ").append(allowed).append('\n');
    }
    String unless = allowed.isEmpty() ? "" : " unless allowed_clients";
    if (f.mode() == Mode.HTTP) {
      b.append("    http-request deny deny_status 403").append(unless).append('\n')
          .append("    option httplog\n")
          .append("    timeout http-request ").append(ms(f.headerTimeout())).append('\n');
      if (f.xForwardedFor()) {
        b.append("    option forwardfor\n");
      }
    } else {
      b.append("    tcp-request connection reject").append(unless).append('\n')
          .append("    option tcplog\n");
    }
    b.append("    default_backend ").append(f.name()).append('\n');

    BalancerConfig.Check c = f.check();
    b.append("\nbackend ").append(f.name()).append('\n')
        .append("    mode ").append(mode).append('\n')
        .append("    balance ").append(switch (f.method()) {
          case ROUNDROBIN -> "roundrobin";
          case LEASTCONN -> "leastconn";
          case SOURCE -> "source\n    hash-type consistent";
          case FIRST -> "first";
          case RANDOM -> "random(2)";
        }).append('\n')
        .append("    retries ").append(f.retries()).append('\n')
        .append("    timeout connect ").append(ms(f.connectTimeout())).append('\n')
        .append("    timeout server ").append(ms(f.idleTimeout())).append('\n');
    if (c.type() != CheckType.NONE) {
      b.append("    timeout check ").append(ms(c.timeout())).append('\n');
    }
    switch (c.type()) {
      case HTTP -> {
        b.append("    option httpchk\n")
            .append("    http-check send meth GET uri ").append(c.target()).append(" ver HTTP/1.1 hdr Host ")
            .append(address(f.servers().get(0).address())).append('\n')
            .append("    http-check expect rstatus ").append(c.expect().isEmpty() ? "^[1-4][0-9][0-9]$"
                : "^(" + c.expect().stream().map(String::valueOf).collect(Collectors.joining("|")) + ")$")
            .append('\n');
      }
      case ICAP -> {
        // ICAP servers find the service by its path; the URI's host is the first server's (tcp-check rules are
        // one per backend in HAProxy).
        HostPort first = f.servers().get(0).address();
        String options = "OPTIONS icap://" + address(first) + c.target() + " ICAP/1.0\r\nHost: " + address(first)
            + "\r\nEncapsulated: null-body=0\r\n\r\n";
        b.append("    option tcp-check\n")
            .append("    tcp-check connect\n")
            .append("    tcp-check send-binary ")
            .append(HexFormat.of().formatHex(options.getBytes(StandardCharsets.US_ASCII))).append('\n')
            .append("    tcp-check expect string ICAP/1.0\\ 200\n");
      }
      case TCP, NONE -> {
      }
    }
    if (c.type() != CheckType.NONE) {
      b.append("    default-server inter ").append(ms(c.interval())).append(" rise ").append(c.rise())
          .append(" fall ").append(c.fall()).append('\n');
    }
    for (BalancerConfig.Server s : f.servers()) {
      b.append("    server ").append(s.name()).append(' ').append(address(s.address()))
          .append(" weight ").append(s.state() == BalancerConfig.AdminState.DRAIN ? 0 : s.weight());
      if (c.type() != CheckType.NONE) {
        b.append(" check");
        if (c.port() > 0) {
          b.append(" port ").append(c.port());
        }
      }
      if (f.sendProxy() != BalancerConfig.SendProxy.NONE) {
        b.append(f.sendProxy() == BalancerConfig.SendProxy.V1 ? " send-proxy" : " send-proxy-v2");
      }
      if (s.maxConnections() > 0) {
        b.append(" maxconn ").append(s.maxConnections());
      }
      if (s.backup()) {
        b.append(" backup");
      }
      if (s.state() == BalancerConfig.AdminState.DISABLED) {
        b.append(" disabled");
      }
      b.append('\n');
    }
  }

  private static String address(HostPort a) {
    return (a.host().contains(":") ? "[" + a.host() + "]" : a.host()) + ":" + a.port();
  }

  private static String ms(Duration d) {
    return d.toMillis() + "ms";
  }
}
