package io.portcullis.daemon.cluster;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.events.TrafficEvent;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control node's side of the cluster: a mutual-TLS endpoint on {@code cluster.listen} where listed nodes join
 * (proving the join secret, getting a certificate from the cluster CA), wait for the next revision (long poll),
 * report their state, metrics and balancer, and send their traffic events.
 */
final class ClusterControl {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterControl.class);
  /** Longest a node's config request is held open when nothing changes. */
  static final long HOLD_MS = 20_000;
  /** A node silent this long is shown unreachable (it reports every 2 s). */
  static final Duration SILENT = Duration.ofSeconds(10);
  private static final int MAX_BODY = 16 * 1024 * 1024;

  /** A node's last report and when it came. */
  record Report(Instant at, JsonObject body) {
  }

  private final Daemon daemon;
  private final Vertx vertx;
  private final Path dir;
  private final HostPort listen;
  private final Map<String, Report> reports = new ConcurrentHashMap<>();
  private final List<Runnable> waiters = new CopyOnWriteArrayList<>();
  private ClusterCa ca;
  private HttpServer server;

  ClusterControl(Daemon daemon, Path dir, HostPort listen) {
    this.daemon = daemon;
    this.vertx = daemon.vertx();
    this.dir = dir;
    this.listen = listen;
  }

  HostPort listen() {
    return listen;
  }

  /** Loads or creates the CA and the control node's certificate, then listens. */
  Future<Void> start() {
    return vertx.executeBlocking(() -> {
      ca = ClusterCa.loadOrCreate(dir);
      Path key = dir.resolve("control.key");
      Path cert = dir.resolve("control.crt");
      if (!Files.exists(key) || !Files.exists(cert)) {
        KeyPair kp = ClusterCa.newKeyPair();
        ClusterCa.writePrivate(key, ClusterCa.pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
        io.portcullis.daemon.config.AtomicFiles.write(cert, ca.issue("portcullis-control", kp.getPublic(), true)
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII), null);
      }
      return new HttpServerOptions().setHost(listen.host()).setPort(listen.port()).setSsl(true)
          .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(key.toString()).setCertPath(cert.toString()))
          .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(ca.certificatePem())))
          // REQUEST, not REQUIRED: a joining node has no certificate yet; every other route demands one.
          .setClientAuth(ClientAuth.REQUEST).setUseAlpn(false).setIdleTimeout(60)
          .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
    }).compose(options -> {
      Router r = Router.router(vertx);
      r.route().handler(BodyHandler.create().setBodyLimit(MAX_BODY).setHandleFileUploads(false));
      r.post("/cluster/v1/join").handler(this::join);
      r.get("/cluster/v1/config").handler(ctx -> withNode(ctx, name -> config(ctx, name)));
      r.post("/cluster/v1/status").handler(ctx -> withNode(ctx, name -> status(ctx, name)));
      r.post("/cluster/v1/events").handler(ctx -> withNode(ctx, name -> events(ctx, name)));
      r.route().last().handler(ctx -> error(ctx, 404, "no such endpoint"));
      server = vertx.createHttpServer(options).requestHandler(r);
      return server.listen().<Void>mapEmpty();
    }).onSuccess(x -> LOG.info("cluster: control node listening on {} (CA {})", listen, fingerprint()));
  }

  Future<Void> stop() {
    waiters.forEach(Runnable::run);
    return server == null ? Future.succeededFuture() : server.close();
  }

  /** The CA's fingerprint, for show cluster. */
  String fingerprint() {
    try {
      return ca == null ? null : ClusterCa.fingerprint(ca.certificatePem());
    } catch (java.security.GeneralSecurityException e) {
      return null;
    }
  }

  /** Wakes the nodes waiting for a revision: one has just been put into effect. */
  void revisionChanged() {
    List<Runnable> now = new ArrayList<>(waiters);
    waiters.clear();
    now.forEach(Runnable::run);
  }

  private ClusterConfig cluster() {
    return daemon.config().cluster();
  }

  private boolean listed(String name) {
    return cluster().nodes().stream().anyMatch(m -> m.name().equals(name));
  }

  /** Runs {@code then} with the node's name from its client certificate, or answers 403. */
  private void withNode(RoutingContext ctx, java.util.function.Consumer<String> then) {
    String name = null;
    try {
      List<Certificate> chain = ctx.request().connection().peerCertificates();
      if (chain != null && !chain.isEmpty() && chain.get(0) instanceof X509Certificate c) {
        name = ClusterCa.commonName(c);
      }
    } catch (Exception e) {
      name = null;
    }
    if (name == null) {
      error(ctx, 403, "a node certificate issued by this cluster's control node is required (join first)");
      return;
    }
    if (!listed(name)) {
      error(ctx, 403, "node " + name + " is not in cluster.nodes on the control node");
      return;
    }
    then.accept(name);
  }

  /** {@code POST /cluster/v1/join}: a listed node proving the secret gets the CA and a certificate for its key. */
  private void join(RoutingContext ctx) {
    JsonObject b;
    try {
      b = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      b = null;
    }
    if (b == null) {
      error(ctx, 400, "body must be JSON {name, nonce, publicKey, proof}");
      return;
    }
    String name = b.getString("name", "");
    String nonce = b.getString("nonce", "");
    String publicKey = b.getString("publicKey", "");
    String secret = cluster().secret();
    String from = ctx.request().remoteAddress() == null ? "-" : ctx.request().remoteAddress().hostAddress();
    if (secret == null || !ClusterCa.sameProof(b.getString("proof"), ClusterCa.proof(secret, "join", name, nonce,
        publicKey))) {
      LOG.warn("cluster: join of {} from {} refused: wrong join secret", name, from);
      error(ctx, 403, "join refused: wrong join secret");
      return;
    }
    if (!listed(name)) {
      LOG.warn("cluster: join of {} from {} refused: not in cluster.nodes", name, from);
      error(ctx, 403, "join refused: node " + name + " is not in cluster.nodes on the control node (add it there)");
      return;
    }
    vertx.executeBlocking(() -> {
      String cert = ca.issue(name, ClusterCa.publicKey(publicKey), false);
      String caPem = ca.certificatePem();
      Files.createDirectories(dir.resolve("nodes"));
      io.portcullis.daemon.config.AtomicFiles.write(dir.resolve("nodes").resolve(name + ".crt"),
          cert.getBytes(java.nio.charset.StandardCharsets.US_ASCII), null);
      return new JsonObject().put("ca", caPem).put("cert", cert)
          .put("proof", ClusterCa.proof(secret, "joined", nonce, caPem, cert));
    }, false).onComplete(ar -> {
      if (ar.succeeded()) {
        LOG.info("cluster: node {} joined from {}", name, from);
        json(ctx, 200, ar.result());
      } else {
        error(ctx, 400, "join refused: " + ar.cause().getMessage());
      }
    });
  }

  /**
   * {@code GET /cluster/v1/config?after=N}: the shared config at once if the revision in effect is not N, else when
   * the next one comes, else 204 after {@link #HOLD_MS}.
   */
  private void config(RoutingContext ctx, String name) {
    int after;
    try {
      after = Integer.parseInt(ctx.request().getParam("after", "-1"));
    } catch (NumberFormatException e) {
      error(ctx, 400, "after must be a revision number");
      return;
    }
    if (!answerConfig(ctx, after)) {
      Runnable[] self = new Runnable[1];
      long timer = vertx.setTimer(HOLD_MS, t -> {
        waiters.remove(self[0]);
        if (!ctx.response().ended()) {
          ctx.response().setStatusCode(204).end();
        }
      });
      self[0] = () -> {
        vertx.cancelTimer(timer);
        if (!ctx.response().ended() && !answerConfig(ctx, after)) {
          ctx.response().setStatusCode(204).end();
        }
      };
      waiters.add(self[0]);
      ctx.request().connection().closeHandler(v -> waiters.remove(self[0]));
    }
  }

  private boolean answerConfig(RoutingContext ctx, int after) {
    var active = daemon.commits().active();
    if (active.revision() == after) {
      return false;
    }
    JsonObject out = new JsonObject().put("revision", active.revision())
        .put("text", ConfigEditor.withoutLocal(active.text(), ClusterConfig.ALWAYS_LOCAL));
    daemon.commits().pending().ifPresent(p -> out.put("confirmBy", p.deadline().toString()));
    json(ctx, 200, out);
    return true;
  }

  /** {@code POST /cluster/v1/status}: a node's report (revision, state, health, ports, metrics, balancer). */
  private void status(RoutingContext ctx, String name) {
    JsonObject b;
    try {
      b = ctx.body().asJsonObject();
    } catch (RuntimeException e) {
      b = null;
    }
    if (b == null) {
      error(ctx, 400, "body must be a JSON report");
      return;
    }
    Report before = reports.put(name, new Report(Instant.now(), b));
    if (before == null || before.body().getInteger("revision", -1) != b.getInteger("revision", -1)) {
      LOG.info("cluster: node {} reports revision {} ({})", name, b.getInteger("revision"), b.getString("state"));
    }
    json(ctx, 200, new JsonObject().put("revision", daemon.commits().active().revision()));
  }

  /** {@code POST /cluster/v1/events}: a node's traffic events, into this node's journal, syslog and show events. */
  private void events(RoutingContext ctx, String name) {
    JsonArray list;
    try {
      list = ctx.body().asJsonObject().getJsonArray("events");
    } catch (RuntimeException e) {
      list = null;
    }
    if (list == null) {
      error(ctx, 400, "body must be {\"events\": [...]}");
      return;
    }
    int n = 0;
    for (Object o : list) {
      if (o instanceof JsonObject e) {
        TrafficEvent ev = TrafficEvent.fromJson(e);
        if (name.equals(ev.node())) { // a node speaks for itself only
          daemon.events().importEvent(ev);
          n++;
        }
      }
    }
    json(ctx, 200, new JsonObject().put("accepted", n));
  }

  /** The nodes as show cluster lists them: each listed node's state, revision, health and last report. */
  JsonArray members() {
    int active = daemon.commits().active().revision();
    JsonArray out = new JsonArray();
    for (ClusterConfig.Member m : cluster().nodes()) {
      Report r = reports.get(m.name());
      JsonObject o = new JsonObject().put("name", m.name()).put("address", m.address());
      if (r == null) {
        boolean joined = joined(m.name());
        o.put("state", joined ? "unreachable" : "not joined").put("reason", joined
            ? "no report since the control node started" : "the node has not joined yet");
      } else {
        JsonObject b = r.body();
        int rev = b.getInteger("revision", -1);
        boolean silent = Duration.between(r.at(), Instant.now()).compareTo(SILENT) > 0;
        String state = silent ? "unreachable" : b.getString("problem") != null ? "failed"
            : rev == active ? "in sync" : "behind";
        o.put("state", state).put("revision", rev).put("lastSeen", r.at().toString())
            .put("ready", b.getBoolean("ready", false)).put("version", b.getString("version"));
        if (silent) {
          o.put("reason", "no report for " + Duration.between(r.at(), Instant.now()).toSeconds() + " s");
        } else if (b.getString("problem") != null) {
          o.put("reason", b.getString("problem"));
        }
        if (b.getJsonArray("notReady") != null && !b.getJsonArray("notReady").isEmpty()) {
          o.put("notReady", b.getJsonArray("notReady"));
        }
        if (b.getBoolean("localChanges", false)) {
          o.put("localChanges", true);
        }
      }
      out.add(o);
    }
    return out;
  }

  /** True once the control node has issued {@code name} a certificate. */
  boolean joined(String name) {
    return Files.exists(dir.resolve("nodes").resolve(name + ".crt"));
  }

  /** The nodes that have not reported revision {@code rev} (or later). */
  List<String> laggards(int rev) {
    List<String> out = new ArrayList<>();
    for (ClusterConfig.Member m : cluster().nodes()) {
      Report r = reports.get(m.name());
      if (r == null || r.body().getInteger("revision", -1) < rev) {
        out.add(m.name());
      }
    }
    return out;
  }

  /** Each node's last Prometheus text (reports fresher than {@link #SILENT}). */
  Map<String, String> metrics() {
    Map<String, String> out = new LinkedHashMap<>();
    reports.forEach((name, r) -> {
      if (listed(name) && Duration.between(r.at(), Instant.now()).compareTo(SILENT) <= 0
          && r.body().getString("metrics") != null) {
        out.put(name, r.body().getString("metrics"));
      }
    });
    return out;
  }

  /** Each node's balancer as it last reported it. */
  JsonObject balancers() {
    JsonObject out = new JsonObject();
    reports.forEach((name, r) -> {
      if (listed(name) && r.body().getJsonObject("balancer") != null) {
        out.put(name, r.body().getJsonObject("balancer").put("lastSeen", r.at().toString()));
      }
    });
    return out;
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }
  }

  static void error(RoutingContext ctx, int status, String message) {
    json(ctx, status, new JsonObject().put("error", message));
  }

  /** Waits (polling the reports) until every node reports {@code rev} or {@code wait} passes; the laggards. */
  Future<List<String>> await(int rev, Duration wait, java.util.function.BiConsumer<Integer, Integer> progress) {
    Promise<List<String>> p = Promise.promise();
    long deadline = System.nanoTime() + wait.toNanos();
    int total = cluster().nodes().size();
    vertx.setPeriodic(0, 100, id -> {
      List<String> behind = laggards(rev);
      progress.accept(total - behind.size(), total);
      // A node that never joined cannot take the revision now: named as a laggard, not waited for.
      boolean waiting = behind.stream().anyMatch(this::joined);
      if (!waiting || System.nanoTime() > deadline) {
        vertx.cancelTimer(id);
        p.tryComplete(behind);
      }
    });
    return p.future();
  }
}
