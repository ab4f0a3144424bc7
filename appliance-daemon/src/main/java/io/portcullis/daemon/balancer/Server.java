package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.HostPort;

/**
 * One server of a frontend as one commit configured it. Its {@link ServerStats} (health, counters) outlive the commit
 * when the next one keeps the server (same frontend, name and address).
 */
public final class Server {
  private final BalancerConfig.Server config;
  private final ServerStats stats;

  Server(BalancerConfig.Server config, ServerStats stats) {
    this.config = config;
    this.stats = stats;
  }

  public String name() {
    return config.name();
  }

  public HostPort address() {
    return config.address();
  }

  public int weight() {
    return config.weight();
  }

  public boolean backup() {
    return config.backup();
  }

  public BalancerConfig.Server config() {
    return config;
  }

  public ServerStats stats() {
    return stats;
  }

  /** True when it may take a new connection: enabled, weighted, up by its checks, below its connection limit. */
  public boolean usable() {
    return config.state() == BalancerConfig.AdminState.ENABLED && config.weight() > 0 && stats.up()
        && (config.maxConnections() == 0 || stats.active() < config.maxConnections());
  }

  /** up, down, drain or maint, as the stats show it. */
  public String state() {
    return switch (config.state()) {
      case DISABLED -> "maint";
      case DRAIN -> stats.up() ? "drain" : "down";
      case ENABLED -> stats.up() ? "up" : "down";
    };
  }
}
