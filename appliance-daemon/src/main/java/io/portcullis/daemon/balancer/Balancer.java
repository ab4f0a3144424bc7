package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.HostPort;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The balancer as one commit configured it: its frontends by listen address and their health checker. The verticles
 * of every event loop share it; {@link #start} (checks on) and {@link #stop} run once each however often called.
 */
public final class Balancer {
  private final BalancerConfig config;
  private final String node;
  private final Vertx vertx;
  private final BalancerStats stats;
  private final Map<HostPort, Frontend> frontends = new LinkedHashMap<>();
  private final Set<BalancerStats.Key> keys = new HashSet<>();
  private final AtomicBoolean started = new AtomicBoolean();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private HealthChecker checker;

  public Balancer(BalancerConfig config, String node, Vertx vertx, BalancerStats stats) {
    this.config = config;
    this.node = node;
    this.vertx = vertx;
    this.stats = stats;
    // A disabled balancer has no frontends: no stats, no meters for servers that take no traffic.
    for (BalancerConfig.Frontend f : config.enabled() ? config.frontends() : List.<BalancerConfig.Frontend>of()) {
      List<Server> servers = new ArrayList<>();
      for (BalancerConfig.Server s : f.servers()) {
        servers.add(new Server(s, stats.server(f.name(), s.name(), s.address())));
        keys.add(new BalancerStats.Key(f.name(), s.name(), s.address()));
      }
      frontends.put(f.listen(), new Frontend(f, servers, stats.clients(f.listen())));
    }
  }

  public BalancerConfig config() {
    return config;
  }

  /** The node's name, for error pages. */
  public String node() {
    return node;
  }

  /** The frontend listening on {@code listen}, or null. */
  public Frontend frontend(HostPort listen) {
    return frontends.get(listen);
  }

  /** Counts a client connection (tcp) or request (http) {@code f} refused, by reason. */
  public void refused(Frontend f, String reason) {
    stats.refused(f.name(), reason);
  }

  public List<Frontend> frontends() {
    return List.copyOf(frontends.values());
  }

  /** Takes effect: checks start, and servers no longer configured are forgotten (their meters too). */
  public void start() {
    if (started.compareAndSet(false, true) && !stopped.get()) {
      stats.retain(keys);
      checker = new HealthChecker(vertx, frontends());
      checker.start();
    }
  }

  /** Replaced or shut down: checks stop (connections under way finish on their own). */
  public void stop() {
    if (stopped.compareAndSet(false, true) && checker != null) {
      checker.stop();
    }
  }

  /** State of every frontend and server, for the admin API. */
  public JsonObject status() {
    JsonArray list = new JsonArray();
    for (Frontend f : frontends.values()) {
      JsonArray servers = new JsonArray();
      for (Server s : f.servers()) {
        ServerStats st = s.stats();
        servers.add(new JsonObject().put("name", s.name()).put("address", s.address().toString())
            .put("state", s.state()).put("weight", s.weight()).put("backup", s.backup())
            .put("active", st.active()).put("total", st.total()).put("errors", st.errors())
            .put("stateChanges", st.stateChanges()).put("lastChange", Instant.ofEpochMilli(st.lastChange()).toString())
            .put("check", new JsonObject().put("type", f.config().check().type().name().toLowerCase())
                .put("last", st.lastCheck()).put("durationMs", st.lastCheckMillis())));
      }
      list.add(new JsonObject().put("name", f.name()).put("listen", f.config().listen().toString())
          .put("mode", f.config().mode().name().toLowerCase()).put("method", f.config().method().name().toLowerCase())
          .put("clients", f.clients().get()).put("servers", servers));
    }
    return new JsonObject().put("enabled", config.enabled()).put("frontends", list);
  }
}
