package io.portcullis.daemon;

import io.portcullis.daemon.balancer.Balancer;
import io.portcullis.daemon.cluster.Cluster;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.RulesConfig;
import io.portcullis.daemon.events.Events;
import io.portcullis.daemon.runtime.Service;
import io.portcullis.daemon.runtime.ServiceState;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * The node's status, rules and balancer as JSON for the admin API and the cluster report. Apart from {@link Daemon}
 * so the wiring class only wires; it reads the services and the commit queue, and changes nothing.
 */
final class NodeStatus {
  private final Instant startedAt;
  private final List<Service<?>> services;
  private final Service<Balancer> balancer;
  private final Supplier<Config> config;
  private final Supplier<CommitManager> commits;
  private final Cluster cluster;
  private final Events events;

  /** {@code services}: all of the node's, admin first; {@code commits} gives null until the daemon has started. */
  NodeStatus(Instant startedAt, List<Service<?>> services, Service<Balancer> balancer, Supplier<Config> config,
      Supplier<CommitManager> commits, Cluster cluster, Events events) {
    this.startedAt = startedAt;
    this.services = List.copyOf(services);
    this.balancer = balancer;
    this.config = config;
    this.commits = commits;
    this.cluster = cluster;
    this.events = events;
  }

  /** {@code show status}: version, revision, uptime, each service, the cluster link and a commit awaiting confirm. */
  JsonObject status() {
    JsonObject byName = new JsonObject();
    for (Service<?> s : services) {
      ServiceState st = s.state();
      JsonObject o = new JsonObject().put("state", st.kind().name().toLowerCase());
      if (st.address() != null) {
        o.put("address", st.address());
      }
      if (st.reason() != null) {
        o.put("reason", st.reason());
      }
      ServiceVerticle<?> v = s.verticle();
      if (v != null && v.port() > 0) {
        o.put("port", v.port());
      }
      byName.put(s.name(), o);
    }
    CommitManager c = commits.get();
    JsonObject out = new JsonObject()
        .put("node", config.get().node().name())
        .put("version", io.portcullis.daemon.runtime.Version.get())
        .put("revision", c.active().revision())
        .put("startedAt", startedAt.toString())
        .put("uptimeSeconds", Duration.between(startedAt, Instant.now()).toSeconds())
        .put("services", byName);
    JsonObject cl = cluster.status();
    if (!"standalone".equals(cl.getString("role"))) {
      JsonObject link = cl.copy();
      link.remove("nodes");
      out.put("cluster", link);
    }
    c.pending().ifPresent(p -> out.put("pendingConfirm", new JsonObject().put("revision", p.revision())
        .put("revertsTo", p.previous()).put("deadline", p.deadline().toString())));
    return out;
  }

  /**
   * The rules in effect, in order (bypass, access, protection, tls), each with its decisions since the daemon started
   * (counts survive commits that keep the rule's name), then the proxy's own checks that decided something.
   */
  JsonObject rules() {
    JsonArray out = new JsonArray();
    RulesConfig r = config.get().rules();
    r.bypass().forEach(b -> out.add(rule("bypass", b.name(), "bypass")));
    r.access().forEach(a -> out.add(rule("access", a.name(), a.action().name().toLowerCase())));
    r.protection().forEach(p -> out.add(rule("protection", p.name(), p.action().name().toLowerCase())));
    r.tls().forEach(t -> out.add(rule("tls", t.name(), t.action().name().toLowerCase())));
    events.hits("proxy").forEach((name, n) -> out.add(rule("proxy", name, "block")));
    return new JsonObject().put("rules", out);
  }

  private JsonObject rule(String type, String name, String action) {
    return new JsonObject().put("type", type).put("name", name).put("action", action)
        .put("hits", events.hits(type, name));
  }

  /** The balancer's frontends and servers as they are now (state, connections, checks). */
  JsonObject balancer() {
    ServiceVerticle<Balancer> v = balancer.verticle();
    return v == null ? new JsonObject().put("enabled", false).put("frontends", new JsonArray())
        : v.settings().status();
  }

  /** The balancer here and, on a control node, each node's balancer as it last reported it. */
  JsonObject clusterBalancer() {
    JsonObject out = balancer();
    JsonObject nodes = cluster.balancers();
    return nodes.isEmpty() ? out : out.copy().put("nodes", nodes);
  }
}
