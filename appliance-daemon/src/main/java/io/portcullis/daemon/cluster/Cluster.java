package io.portcullis.daemon.cluster;

import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.ClusterConfig.Role;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.Revision;
import io.portcullis.daemon.events.Events;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The node's part in its cluster, by {@code cluster.role}: nothing (standalone), the control node's endpoint
 * ({@link ClusterControl}), or a node's agent ({@link ClusterNode}). Rebuilt when a commit changes the role, the
 * listen address or the control node; also the commit's guard (a node refuses changes its control node owns) and
 * follower (a control node's commit waits for its nodes).
 */
public final class Cluster implements CommitManager.Guard, CommitManager.Follower {
  /** What the control endpoint and the node agent need of the node that hosts them; {@code Daemon} provides it. */
  public interface Host {
    /** The node's Vert.x, for the endpoint, the agent's context and its HTTP clients. */
    Vertx vertx();

    /** The config in effect. */
    Config config();

    /** The node's commit queue; set before {@link Cluster#configure} is first called. */
    CommitManager commits();

    /** The node's traffic events: a node sends them on, a control node takes them in. */
    Events events();

    /** Runs the node's readiness checks, for the report to the control node. */
    Future<CheckResult> checkReadiness();

    /** The port {@code service} has bound, or -1. */
    int port(String service);

    /** This node's balancer as it is now, as JSON. */
    JsonObject balancerStatus();

    /** This node's own metrics in the Prometheus text format. */
    String scrape();

    /** The inspection CA in effect (a control node sends it to its nodes), or null before the first config. */
    io.portcullis.daemon.tls.InspectionCa inspectionCa();

    /**
     * Makes {@code ca}, sent by the control node, this node's inspection CA from the next config compiled on (kept on
     * disk first); blocking.
     */
    void useClusterInspectionCa(io.portcullis.daemon.tls.InspectionCa.Transfer ca) throws java.io.IOException;
  }

  /** The inspection CA changed without a new revision (rotated): a control node's waiting nodes are answered now. */
  public void inspectionCaChanged() {
    ClusterControl ctl = control;
    if (ctl != null) {
      ctl.caChanged();
    }
  }

  private final Host host;
  private final Path dir;
  private volatile ClusterControl control;
  private volatile ClusterNode node;
  private ClusterConfig current;
  /** Why the control endpoint is not running as configured, or null. */
  private volatile String failure;
  /** The last event sent to the control node, kept across agents so a restart of the agent goes on from there. */
  private final long[] eventsAfter = {-1};

  /** A standalone node's part, until {@link #configure} gives it a role; state under {@code dataDir}/cluster. */
  public Cluster(Host host, Path dataDir) {
    this.host = host;
    this.dir = dataDir.resolve("cluster");
  }

  /** Starts, keeps or replaces the control endpoint or node agent for {@code c}; fails if the endpoint cannot listen. */
  public synchronized Future<Void> configure(Config c) {
    ClusterConfig next = c.cluster();
    if (current != null && current.role() == next.role() && Objects.equals(current.listen(), next.listen())
        && Objects.equals(current.control(), next.control()) && Objects.equals(current.secret(), next.secret())) {
      current = next;
      return Future.succeededFuture();
    }
    current = next;
    failure = null;
    Future<Void> stopped = stopNow();
    if (next.role() == Role.CONTROL) {
      // Control and node files apart: a data dir that was both keeps a CA key with its own certificate.
      ClusterControl ctl = new ClusterControl(host, dir.resolve("control"), next.listen());
      return stopped.compose(x -> ctl.start()).onSuccess(x -> control = ctl).onFailure(e -> {
        synchronized (this) {
          current = null; // the next commit tries again, even with the same settings
          failure = "the control endpoint cannot listen on " + next.listen() + ": " + e.getMessage();
        }
      });
    }
    if (next.role() == Role.NODE) {
      ClusterNode n = new ClusterNode(host, dir.resolve("node"), next.control(), eventsAfter);
      node = n;
      return stopped.onSuccess(x -> n.start());
    }
    return stopped;
  }

  private Future<Void> stopNow() {
    ClusterControl ctl = control;
    ClusterNode n = node;
    control = null;
    node = null;
    if (n != null) {
      n.stop();
    }
    return ctl == null ? Future.succeededFuture() : ctl.stop();
  }

  public synchronized Future<Void> stop() {
    current = null;
    return stopNow();
  }

  /** A config is in effect here: a control node's waiting nodes get it now; a node checks a revert. */
  public void activated(CommitManager.Active a, Revision rev) {
    ClusterControl ctl = control;
    if (ctl != null) {
      ctl.revisionChanged();
    }
    ClusterNode n = node;
    if (n != null) {
      n.activated(a, rev);
    }
  }

  /** On a control node, the join key of listed node {@code name} (its cluster.joinKey); else an exception. */
  public String joinKey(String name) {
    ClusterControl ctl = control;
    Config c = host.config();
    if (ctl == null) {
      throw new IllegalStateException("this is not a control node (cluster.role)");
    }
    if (c.cluster().nodes().stream().noneMatch(m -> m.name().equals(name))) {
      throw new IllegalArgumentException("node " + name + " is not in cluster.nodes: add it first");
    }
    return ctl.joinKey(name);
  }

  /** {@inheritDoc} A node refuses, unless forced, a change beyond its local keys: those belong to its control node. */
  @Override
  public void check(String from, String to, boolean force) {
    Config c = host.config();
    if (force || c.cluster().role() != Role.NODE) {
      return;
    }
    List<String> locals = new ArrayList<>(ClusterConfig.ALWAYS_LOCAL);
    locals.addAll(c.cluster().local());
    String a;
    String b;
    try {
      a = ConfigEditor.withoutLocal(from, locals);
      b = ConfigEditor.withoutLocal(to, locals);
    } catch (RuntimeException e) {
      return; // unreadable YAML: the commit's own validation says what is wrong
    }
    if (!a.equals(b)) {
      throw new CommitManager.CommitException("this node takes its config from the control node at "
          + c.cluster().control() + ": make the change there (this node keeps only "
          + String.join(", ", locals) + "), or `commit force` to change it here until the control node's next "
          + "revision", List.of());
    }
  }

  /** {@inheritDoc} On a control node with nodes: waits up to cluster.commitWait for each to report the revision. */
  @Override
  public CompletableFuture<Void> follow(Revision rev) {
    ClusterControl ctl = control;
    Config c = host.config();
    if (ctl == null || c.cluster().nodes().isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    return ctl.await(rev.number(), c.cluster().commitWait(), (done, total) -> host.commits()
        .progress("nodes with revision " + rev.number(), done, total)).<Void>mapEmpty()
        .toCompletionStage().toCompletableFuture();
  }

  /** For a commit's answer on a control node with nodes: how many there are and which lag behind {@code rev}. */
  public JsonObject commitReport(int rev) {
    ClusterControl ctl = control;
    Config c = host.config();
    if (ctl == null || c.cluster().nodes().isEmpty()) {
      return null;
    }
    return new JsonObject().put("total", c.cluster().nodes().size())
        .put("laggards", new JsonArray(ctl.laggards(rev))).put("waited", c.cluster().commitWait().toMillis());
  }

  /** {@code show cluster}: the role and, on a control node, each node's state; on a node, its link to the control. */
  public JsonObject status() {
    Config c = host.config();
    ClusterControl ctl = control;
    ClusterNode n = node;
    if (ctl != null) {
      return new JsonObject().put("role", "control").put("listen", ctl.listen().toString())
          .put("revision", host.commits().active().revision()).put("ca", ctl.fingerprint())
          .put("nodes", ctl.members());
    }
    if (n != null) {
      return n.status();
    }
    JsonObject o = new JsonObject().put("role", c.cluster().role().name().toLowerCase()).put("nodes", new JsonArray());
    String f = failure;
    return f == null ? o : o.put("state", "failed").put("reason", f);
  }

  /** The Prometheus text of this node and, on a control node, of each node that reports. */
  public String metrics(String local) {
    ClusterControl ctl = control;
    return ctl == null ? local : PrometheusText.merge(local, ctl.metrics());
  }

  /** On a control node, each node's balancer as last reported; else empty. */
  public JsonObject balancers() {
    ClusterControl ctl = control;
    return ctl == null ? new JsonObject() : ctl.balancers();
  }
}
