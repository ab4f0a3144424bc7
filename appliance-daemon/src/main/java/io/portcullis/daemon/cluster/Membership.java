package io.portcullis.daemon.cluster;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.HostPort;
import java.util.ArrayList;
import java.util.List;

/** The balancer's pools as the cluster's membership makes them: what the balancer and the HAProxy export serve. */
public final class Membership {
  private Membership() {
  }

  /**
   * {@code c.balancer()} with each frontend's {@code members} (proxy or icap) expanded into one server per node of
   * {@code cluster.nodes} (a node's own port, else the port of proxy.listen or icap.listen) after its own servers;
   * a server of the same name wins. Only a control node has members.
   */
  public static BalancerConfig balancer(Config c) {
    BalancerConfig b = c.balancer();
    if (c.cluster().role() != ClusterConfig.Role.CONTROL || b.frontends().stream()
        .allMatch(f -> f.members() == BalancerConfig.Members.NONE)) {
      return b;
    }
    List<BalancerConfig.Frontend> out = new ArrayList<>();
    for (BalancerConfig.Frontend f : b.frontends()) {
      if (f.members() == BalancerConfig.Members.NONE) {
        out.add(f);
        continue;
      }
      List<BalancerConfig.Server> servers = new ArrayList<>(f.servers());
      for (ClusterConfig.Member m : c.cluster().nodes()) {
        if (servers.stream().anyMatch(s -> s.name().equals(m.name()))) {
          continue;
        }
        int port = f.members() == BalancerConfig.Members.PROXY
            ? (m.proxyPort() > 0 ? m.proxyPort() : c.proxy().listen().port())
            : (m.icapPort() > 0 ? m.icapPort() : c.icap().listen().port());
        servers.add(new BalancerConfig.Server(m.name(), new HostPort(m.address(), port), 1, false,
            BalancerConfig.AdminState.ENABLED, 0));
      }
      out.add(f.withServers(servers));
    }
    return b.withFrontends(out);
  }
}
