package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The node's place in a cluster: alone, the control node that holds the config and issues certificates, or a node
 * that takes every committed revision from its control node. The section never leaves the node: it is local.
 */
public record ClusterConfig(
    @Doc("standalone (no cluster), control (holds the config, issues certificates at join, takes the nodes' reports) "
        + "or node (takes its config from the control node)") @Default("standalone") Role role,
    @Doc("control: the address nodes connect to (mutual TLS with certificates issued at join)")
    @Default("0.0.0.0:9045") HostPort listen,
    @Doc("node: the control node's host:port") @OptionalKey HostPort control,
    @Doc("control: the cluster secret (at least 16 characters) each node's join key is derived from; it never "
        + "leaves the control node") @OptionalKey @Secret String secret,
    @Doc("node: its join key, from `show cluster join-key NAME` on the control node; it proves the node and the "
        + "control node to each other once, at join (certificates do after)") @OptionalKey @Secret String joinKey,
    @Doc("node: the cluster CA's SHA-256 fingerprint (show cluster on the control node); if given, the node joins "
        + "only a control node with that CA") @OptionalKey String caFingerprint,
    @Doc("control: the cluster's nodes; a node can join only once it is listed") List<Member> nodes,
    @Doc("node: more config paths this node keeps from its own file instead of the control node's (node, network, "
        + "admin, cluster and balancer always are), e.g. proxy.listen") List<String> local,
    @Doc("control: how long commit waits for every node to report the new revision before naming the laggards")
    @Default("10s") Duration commitWait) implements Validatable {

  /** What this node is in the cluster. */
  public enum Role { STANDALONE, CONTROL, NODE }

  /**
   * The sections a node never takes from its control node: its identity, network, admin API, cluster link, and
   * balancer (the cluster's balancer runs on the control node, its pools made from the membership).
   */
  public static final List<String> ALWAYS_LOCAL = List.of("node", "network", "admin", "cluster", "balancer");

  /** One node of the cluster, as the control node knows it. */
  public record Member(
      @Doc("the node's name: its node.name, and the name in its certificate") String name,
      @Doc("the host (name or address) where the node's proxy and ICAP server are reached, for the balancer's pools")
      String address,
      @Doc("the node's proxy port for the balancer's http pools; 0: the port of proxy.listen") @Default("0")
      int proxyPort,
      @Doc("the node's ICAP port for the balancer's icap pools; 0: the port of icap.listen") @Default("0")
      int icapPort) implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
        problems.add(path + ".name", '"' + name + "\" is not a node name (letters, digits, . _ -, at most 63)");
      }
      if (!Addresses.isIpv4Literal(address) && !Addresses.isHostName(address) && !Addresses.isIpv6Literal(address)) {
        problems.add(path + ".address", '"' + address + "\" is not a host name or address");
      }
      problems.between(path + ".proxyPort", proxyPort, 0, 65535);
      problems.between(path + ".icapPort", icapPort, 0, 65535);
    }
  }

  @Override
  public void validate(String path, Problems problems) {
    if (role == Role.CONTROL && (secret == null || secret.length() < 16)) {
      problems.add(path + ".secret", "a control node needs a cluster secret of at least 16 characters");
    }
    if (role == Role.NODE && (joinKey == null || joinKey.length() < 16)) {
      problems.add(path + ".joinKey", "a node needs its join key (show cluster join-key NAME on the control node)");
    }
    for (String[] kv : new String[][] {{"secret", secret}, {"joinKey", joinKey}}) {
      if (kv[1] != null && !kv[1].chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        problems.add(path + "." + kv[0], "must be printable ASCII without spaces");
      }
    }
    if (caFingerprint != null && !caFingerprint.matches("(?i)[0-9a-f]{2}(:[0-9a-f]{2}){31}")) {
      problems.add(path + ".caFingerprint", "is not a SHA-256 fingerprint (32 hex bytes separated by colons)");
    }
    if (role == Role.NODE && control == null) {
      problems.add(path + ".control", "a node needs its control node's host:port");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < nodes.size(); i++) {
      if (!names.add(nodes.get(i).name())) {
        problems.add(path + ".nodes[" + i + "].name", nodes.get(i).name() + " is listed twice");
      }
    }
    Set<String> paths = local.isEmpty() ? Set.of() : ConfigSchema.keys().stream().map(ConfigSchema.Key::path)
        .collect(java.util.stream.Collectors.toSet());
    for (int i = 0; i < local.size(); i++) {
      String p = local.get(i);
      boolean known = paths.stream().anyMatch(k -> k.equals(p) || k.startsWith(p + "."));
      if (!known || p.contains("[")) {
        problems.add(path + ".local[" + i + "]", '"' + p + "\" is not a config key or section (e.g. proxy.listen)");
      }
    }
    if (commitWait.isNegative() || commitWait.compareTo(Duration.ofSeconds(90)) > 0) {
      // The console's commit call and the admin server's idle timeout must outlast it.
      problems.add(path + ".commitWait", "must be between 0s and 90s");
    }
  }
}
