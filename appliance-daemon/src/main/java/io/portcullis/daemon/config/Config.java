package io.portcullis.daemon.config;

/**
 * The node's whole configuration, one YAML document ({@code portcullis.yaml}). Each record component is a YAML key of
 * the same name; {@link ConfigBinder} reads it, {@link ConfigWriter} writes it, and the console derives its tree from it.
 */
public record Config(
    @Doc("this node") NodeConfig node,
    @Doc("the node's own network settings (the appliance)") NetworkConfig network,
    @Doc("the admin API (health, metrics, config)") AdminConfig admin,
    @Doc("the forward HTTP proxy") ProxyConfig proxy,
    @Doc("the ICAP server") IcapConfig icap,
    @Doc("the load balancer") BalancerConfig balancer,
    @Doc("traffic processing rules") RulesConfig rules,
    @Doc("scan engines for protection rules") ScanConfig scan,
    @Doc("traffic events: the node's journal and the syslog servers they go to") EventsConfig events,
    @Doc("the console over SSH and its users") ConsoleConfig console,
    @Doc("the cluster: standalone, the control node, or a node that takes its config from the control node")
    ClusterConfig cluster) {

  /** The embedded defaults: what an empty document means. */
  public static Config defaults() {
    return ConfigLoader.defaults();
  }
}
