package io.portcullis.daemon.cluster;

import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.events.TrafficEvent;
import io.vertx.core.Context;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control node's side of the cluster: a mutual-TLS endpoint on {@code cluster.listen} where listed nodes join
 * (proving their join key, getting a certificate from the cluster CA), wait for the next revision (long poll),
 * report their state, metrics and balancer, and send their traffic events. Only the newest certificate issued to a
 * node still listed opens anything; bodies are read only after the certificate is checked.
 */
final class ClusterControl {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterControl.class);
  /** Longest a node's config request is held open when nothing changes. */
  static final long HOLD_MS = 20_000;
  /** A node silent this long is shown unreachable (it reports every 2 s). */
  static final Duration SILENT = Duration.ofSeconds(10);
  /** A report (with the node's metrics) or a batch of events, at most. */
  private static final int MAX_BODY = 8 * 1024 * 1024;
  /** Events in one batch at most (a node sends one batch at a time). */
  static final int MAX_EVENTS = 2000;
  /** Join attempts per source address per minute at most. */
  private static final int JOINS_PER_MINUTE = 10;

  /** A node's last report, read and type-checked on arrival. */
  record Report(Instant at, int revision, String state, String problem, boolean ready, List<String> notReady,
      boolean localChanges, String version, String metrics, JsonObject balancer, long eventsMissed) {

    /** The report in {@code b}; throws IllegalArgumentException (a 400) on a missing or mistyped field. */
    static Report of(JsonObject b) {
      try {
        List<String> notReady = new ArrayList<>();
        JsonArray nr = b.getJsonArray("notReady", new JsonArray());
        for (int i = 0; i < nr.size() && i < 64; i++) {
          notReady.add(nr.getString(i));
        }
        Integer rev = b.getInteger("revision");
        if (rev == null) {
          throw new IllegalArgumentException("revision is required");
        }
        return new Report(Instant.now(), rev, cut(b.getString("state", "")), cut(b.getString("problem")),
            b.getBoolean("ready", false), List.copyOf(notReady), b.getBoolean("localChanges", false),
            cut(b.getString("version", "")), b.getString("metrics"), b.getJsonObject("balancer"),
            b.getLong("eventsMissed", 0L));
      } catch (ClassCastException e) {
        throw new IllegalArgumentException("a field has the wrong type: " + e.getMessage());
      }
    }

    private static String cut(String s) {
      return s == null || s.length() <= 2000 ? s : s.substring(0, 2000);
    }
  }

  /** A node waiting for the next revision: answered once, on its request's own context. */
  private final class Waiter {
    final RoutingContext ctx;
    final Context context;
    final int after;
    final String ca; // the node's inspection CA (its hash), or null
    final String name;
    final AtomicBoolean answered = new AtomicBoolean();
    long timer;

    Waiter(RoutingContext ctx, int after, String ca, String name) {
      this.ctx = ctx;
      this.context = Vertx.currentContext();
      this.after = after;
      this.ca = ca;
      this.name = name;
    }

    /** Answers with the revision in effect if it is not {@code after} (or {@code always}), else leaves it waiting. */
    void wake(boolean always) {
      context.runOnContext(v -> {
        if (answered.get()) {
          return;
        }
        int now = host.commits().active().revision();
        String mine = caHash(host.inspectionCa());
        boolean caStale = ca != null && mine != null && !ca.equals(mine);
        if (now == after && !always && !caStale) {
          return;
        }
        if (!answered.compareAndSet(false, true)) {
          return;
        }
        waiters.remove(this);
        vertx.cancelTimer(timer);
        if (!listed(name)) {
          error(ctx, 403, "node " + name + " is not in cluster.nodes on the control node");
        } else if (now == after && !caStale) {
          if (!ctx.response().ended()) {
            ctx.response().setStatusCode(204).end();
          }
        } else {
          answerConfig(ctx);
        }
      });
    }
  }

  private final Cluster.Host host;
  private final Vertx vertx;
  private final Path dir;
  private final HostPort listen;
  private final Map<String, Report> reports = new ConcurrentHashMap<>();
  /** The fingerprint of the newest certificate issued to each node: older ones open nothing. */
  private final Map<String, String> issued = new ConcurrentHashMap<>();
  private final Map<String, long[]> joinAttempts = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private volatile Object[] sharedCache;
  private ClusterCa ca;
  private HttpServer server;

  ClusterControl(Cluster.Host host, Path dir, HostPort listen) {
    this.host = host;
    this.vertx = host.vertx();
    this.dir = dir;
    this.listen = listen;
  }

  HostPort listen() {
    return listen;
  }

  /** Loads or creates the CA and the control node's certificate, then listens. */
  Future<Void> start() {
    return vertx.executeBlocking(() -> {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      ca = ClusterCa.loadOrCreate(dir);
      Path key = dir.resolve("control.key");
      Path cert = dir.resolve("control.crt");
      if (!Files.exists(key) || !Files.exists(cert)) {
        KeyPair kp = ClusterCa.newKeyPair();
        ClusterCa.writePrivate(key, ClusterCa.pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
        AtomicFiles.write(cert, ca.issue("portcullis-control", kp.getPublic(), true)
            .getBytes(StandardCharsets.US_ASCII), null);
      }
      Path nodes = dir.resolve("nodes");
      if (Files.isDirectory(nodes)) {
        try (var list = Files.list(nodes)) {
          for (Path p : (Iterable<Path>) list::iterator) {
            String f = p.getFileName().toString();
            if (f.endsWith(".crt")) {
              issued.put(f.substring(0, f.length() - 4), ClusterCa.fingerprint(Files.readString(p)));
            }
          }
        }
      }
      return new HttpServerOptions().setHost(listen.host()).setPort(listen.port()).setSsl(true)
          .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(key.toString()).setCertPath(cert.toString()))
          .setTrustOptions(new PemTrustOptions().addCertValue(Buffer.buffer(ca.certificatePem())))
          // REQUEST, not REQUIRED: a joining node has no certificate yet; every other route demands one.
          .setClientAuth(ClientAuth.REQUEST).setUseAlpn(false).setIdleTimeout(60)
          .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS);
    }).compose(options -> {
      Router r = Router.router(vertx);
      r.post("/cluster/v1/join").handler(BodyHandler.create().setBodyLimit(8192).setHandleFileUploads(false))
          .handler(this::join);
      // The certificate first: nothing from an unknown party is read, let alone buffered.
      r.route("/cluster/v1/*").handler(this::authenticate);
      r.route("/cluster/v1/*").handler(BodyHandler.create().setBodyLimit(MAX_BODY).setHandleFileUploads(false));
      r.get("/cluster/v1/config").handler(this::config);
      r.post("/cluster/v1/status").handler(this::status);
      r.post("/cluster/v1/events").handler(this::events);
      r.route().last().handler(ctx -> error(ctx, 404, "no such endpoint"));
      server = vertx.createHttpServer(options).requestHandler(r);
      return server.listen().<Void>mapEmpty();
    }).onSuccess(x -> LOG.info("cluster: control node listening on {} (CA {})", listen, fingerprint()));
  }

  Future<Void> stop() {
    for (Waiter w; (w = waiters.poll()) != null; ) {
      w.wake(true);
    }
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

  /** The join key of node {@code name} (what its cluster.joinKey must be). */
  String joinKey(String name) {
    return ClusterCa.joinKey(cluster().secret(), name);
  }

  /** The inspection CA changed (rotated) without a new revision: the waiting nodes that have another get it now. */
  void caChanged() {
    for (Waiter w : waiters) {
      w.wake(false);
    }
  }

  /** What a node and its control node compare to see whether they show the same inspection CA. */
  static String caHash(io.portcullis.daemon.tls.InspectionCa ca) {
    return ca == null ? null : sha256(ca.transfer().chainPem());
  }

  static String sha256(String text) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A revision is in effect: wakes the nodes waiting for one, and forgets the nodes no longer listed (their
   * certificates, reports) so that listing a name again does not revive an old certificate.
   */
  void revisionChanged() {
    for (Waiter w : waiters) {
      w.wake(false);
    }
    for (String name : new ArrayList<>(issued.keySet())) {
      if (!listed(name)) {
        issued.remove(name);
        reports.remove(name);
        try {
          Files.deleteIfExists(dir.resolve("nodes").resolve(name + ".crt"));
          LOG.info("cluster: node {} is no longer listed; its certificate opens nothing now", name);
        } catch (java.io.IOException e) {
          LOG.warn("cluster: cannot delete the certificate of node {}: {}", name, e.toString());
        }
      }
    }
    reports.keySet().removeIf(n -> !listed(n));
  }

  private ClusterConfig cluster() {
    return host.config().cluster();
  }

  private boolean listed(String name) {
    return cluster().nodes().stream().anyMatch(m -> m.name().equals(name));
  }

  /** Lets through a request with the newest certificate issued to a listed node (its name in "node"); else 403. */
  private void authenticate(RoutingContext ctx) {
    String name = null;
    String fp = null;
    try {
      List<Certificate> chain = ctx.request().connection().peerCertificates();
      if (chain != null && !chain.isEmpty() && chain.get(0) instanceof X509Certificate c) {
        name = ClusterCa.commonName(c);
        fp = ClusterCa.fingerprint(c);
      }
    } catch (Exception e) {
      name = null;
    }
    if (name == null) {
      error(ctx, 403, "a node certificate issued by this cluster's control node is required (join first)");
    } else if (!listed(name)) {
      error(ctx, 403, "node " + name + " is not in cluster.nodes on the control node");
    } else if (!fp.equals(issued.get(name))) {
      error(ctx, 403, "this certificate of node " + name + " was replaced by a later join");
    } else {
      ctx.put("node", name);
      ctx.next();
    }
  }

  /** {@code POST /cluster/v1/join}: a listed node proving its join key gets the CA and a certificate for its key. */
  private void join(RoutingContext ctx) {
    String from = ctx.request().remoteAddress() == null ? "-" : ctx.request().remoteAddress().hostAddress();
    long minute = System.currentTimeMillis() / 60_000;
    long[] slot = joinAttempts.compute(from, (k, v) -> v == null || v[0] != minute ? new long[] {minute, 1}
        : new long[] {minute, v[1] + 1});
    if (joinAttempts.size() > 10_000) {
      joinAttempts.clear(); // many sources: start counting afresh rather than grow
    }
    if (slot[1] > JOINS_PER_MINUTE) {
      error(ctx, 429, "too many join attempts from " + from + "; try again in a minute");
      return;
    }
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
    String name = b.getValue("name") instanceof String s ? s : "";
    String nonce = b.getValue("nonce") instanceof String s ? s : "";
    String publicKey = b.getValue("publicKey") instanceof String s ? s : "";
    String proof = b.getValue("proof") instanceof String s ? s : "";
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}") || nonce.length() > 64 || publicKey.length() > 1024) {
      error(ctx, 400, "join refused: not a node name, nonce or key");
      return;
    }
    String secret = cluster().secret();
    vertx.executeBlocking(() -> {
      // PBKDF2 and signing: off the event loop.
      if (secret == null || !ClusterCa.sameProof(proof, ClusterCa.proof(ClusterCa.joinKey(secret, name), "join",
          name, nonce, publicKey))) {
        throw new SecurityException("wrong join key for node " + name);
      }
      if (!listed(name)) {
        throw new SecurityException("node " + name + " is not in cluster.nodes on the control node (add it there)");
      }
      String cert = ca.issue(name, ClusterCa.publicKey(publicKey), false);
      String caPem = ca.certificatePem();
      boolean again = issued.containsKey(name);
      AtomicFiles.write(dir.resolve("nodes").resolve(name + ".crt"), cert.getBytes(StandardCharsets.US_ASCII),
          null);
      issued.put(name, ClusterCa.fingerprint(cert));
      if (again) {
        LOG.warn("cluster: node {} joined again from {}: its earlier certificate opens nothing now", name, from);
      }
      return new JsonObject().put("ca", caPem).put("cert", cert)
          .put("proof", ClusterCa.proof(ClusterCa.joinKey(secret, name), "joined", nonce, caPem, cert));
    }, false).onComplete(ar -> {
      if (ar.succeeded()) {
        LOG.info("cluster: node {} joined from {}", name, from);
        json(ctx, 200, ar.result());
      } else if (ar.cause() instanceof SecurityException) {
        LOG.warn("cluster: join from {} refused: {}", from, ar.cause().getMessage());
        error(ctx, 403, "join refused: " + ar.cause().getMessage());
      } else {
        error(ctx, 400, "join refused: " + ar.cause().getMessage());
      }
    });
  }

  /**
   * {@code GET /cluster/v1/config?after=N}: the shared config at once if the revision in effect is not N, else when
   * the next one comes, else 204 after {@link #HOLD_MS}.
   */
  private void config(RoutingContext ctx) {
    int after;
    try {
      after = Integer.parseInt(ctx.request().getParam("after", "-1"));
    } catch (NumberFormatException e) {
      error(ctx, 400, "after must be a revision number");
      return;
    }
    // Registered before the check: a revision that comes in between still wakes it.
    Waiter w = new Waiter(ctx, after, ctx.request().getParam("ca"), ctx.get("node"));
    waiters.add(w);
    w.timer = vertx.setTimer(HOLD_MS, t -> w.wake(true));
    ctx.request().connection().closeHandler(v -> {
      waiters.remove(w);
      vertx.cancelTimer(w.timer);
    });
    w.wake(false);
  }

  private void answerConfig(RoutingContext ctx) {
    var active = host.commits().active();
    Object[] cached = sharedCache;
    String text;
    if (cached != null && (Integer) cached[0] == active.revision()) {
      text = (String) cached[1];
    } else {
      text = ConfigEditor.withoutLocal(active.text(), ClusterConfig.ALWAYS_LOCAL);
      sharedCache = new Object[] {active.revision(), text};
    }
    JsonObject out = new JsonObject().put("revision", active.revision()).put("text", text);
    host.commits().pending().ifPresent(p -> out.put("confirmBy", p.deadline().toString()));
    // The inspection CA, key and all: users trust one CA whatever node serves them. Only on this route, which a
    // node's certificate opens (never on join, whose client trusts any server).
    var ca = host.inspectionCa();
    if (ca != null) {
      var t = ca.transfer();
      out.put("inspectionCa", new JsonObject().put("chain", t.chainPem()).put("key", t.keyPem()));
    }
    json(ctx, 200, out);
  }

  /** {@code POST /cluster/v1/status}: a node's report (revision, state, health, ports, metrics, balancer). */
  private void status(RoutingContext ctx) {
    String name = ctx.get("node");
    Buffer body = ctx.body().buffer();
    vertx.executeBlocking(() -> Report.of(body.toJsonObject()), false).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 400, "not a report: " + ar.cause().getMessage());
        return;
      }
      Report r = ar.result();
      Report before = reports.put(name, r);
      if (before == null || before.revision() != r.revision()) {
        LOG.info("cluster: node {} reports revision {} ({})", name, r.revision(), r.state());
      }
      json(ctx, 200, new JsonObject().put("revision", host.commits().active().revision()));
    });
  }

  /** {@code POST /cluster/v1/events}: a node's traffic events, into this node's journal, syslog and show events. */
  private void events(RoutingContext ctx) {
    String name = ctx.get("node");
    Buffer body = ctx.body().buffer();
    vertx.executeBlocking(() -> {
      JsonArray list = body.toJsonObject().getJsonArray("events");
      if (list == null || list.size() > MAX_EVENTS) {
        throw new IllegalArgumentException("body must be {\"events\": [...]} with at most " + MAX_EVENTS);
      }
      int n = 0;
      for (Object o : list) {
        if (o instanceof JsonObject e) {
          TrafficEvent ev = TrafficEvent.fromJson(e);
          if (name.equals(ev.node())) { // a node speaks for itself only
            host.events().importEvent(ev);
            n++;
          }
        }
      }
      return n;
    }, false).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 400, String.valueOf(ar.cause().getMessage()));
      } else {
        json(ctx, 200, new JsonObject().put("accepted", ar.result()));
      }
    });
  }

  /** True once the control node has issued {@code name} a certificate (and still honours it). */
  boolean joined(String name) {
    return issued.containsKey(name);
  }

  /** The nodes as show cluster lists them: each listed node's state, revision, health and last report. */
  JsonArray members() {
    int active = host.commits().active().revision();
    JsonArray out = new JsonArray();
    for (ClusterConfig.Member m : cluster().nodes()) {
      Report r = reports.get(m.name());
      JsonObject o = new JsonObject().put("name", m.name()).put("address", m.address());
      if (r == null) {
        boolean joined = joined(m.name());
        o.put("state", joined ? "unreachable" : "not joined").put("reason", joined
            ? "no report since the control node started" : "the node has not joined yet");
      } else {
        boolean silent = Duration.between(r.at(), Instant.now()).compareTo(SILENT) > 0;
        String state = silent ? "unreachable" : r.problem() != null ? "failed"
            : r.revision() == active ? "in sync" : "behind";
        o.put("state", state).put("revision", r.revision()).put("lastSeen", r.at().toString())
            .put("ready", r.ready()).put("version", r.version());
        if (silent) {
          o.put("reason", "no report for " + Duration.between(r.at(), Instant.now()).toSeconds() + " s");
        } else if (r.problem() != null) {
          o.put("reason", r.problem());
        }
        if (!r.notReady().isEmpty()) {
          o.put("notReady", new JsonArray(r.notReady()));
        }
        if (r.localChanges()) {
          o.put("localChanges", true);
        }
        if (r.eventsMissed() > 0) {
          o.put("eventsMissed", r.eventsMissed());
        }
      }
      out.add(o);
    }
    return out;
  }

  /** The nodes that have not reported revision {@code rev} (or later). */
  List<String> laggards(int rev) {
    List<String> out = new ArrayList<>();
    for (ClusterConfig.Member m : cluster().nodes()) {
      Report r = reports.get(m.name());
      if (r == null || r.revision() < rev) {
        out.add(m.name());
      }
    }
    return out;
  }

  /** Each node's last Prometheus text (reports fresher than {@link #SILENT}). */
  Map<String, String> metrics() {
    Map<String, String> out = new LinkedHashMap<>();
    reports.forEach((name, r) -> {
      if (listed(name) && Duration.between(r.at(), Instant.now()).compareTo(SILENT) <= 0 && r.metrics() != null) {
        out.put(name, r.metrics());
      }
    });
    return out;
  }

  /** Each node's balancer as it last reported it. */
  JsonObject balancers() {
    JsonObject out = new JsonObject();
    reports.forEach((name, r) -> {
      if (listed(name) && r.balancer() != null) {
        out.put(name, r.balancer().copy().put("lastSeen", r.at().toString()));
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

  /**
   * Waits (looking at the reports every 100 ms) until every joined node reports {@code rev} or {@code wait} passes;
   * completes with the laggards (nodes never joined included, not waited for). Never fails.
   */
  Future<List<String>> await(int rev, Duration wait, java.util.function.BiConsumer<Integer, Integer> progress) {
    Promise<List<String>> p = Promise.promise();
    long deadline = System.nanoTime() + wait.toNanos();
    int[] last = {-1};
    vertx.setPeriodic(0, 100, id -> {
      try {
        List<String> behind = laggards(rev);
        int total = cluster().nodes().size();
        if (total - behind.size() != last[0]) {
          last[0] = total - behind.size();
          progress.accept(last[0], total);
        }
        boolean waiting = behind.stream().anyMatch(this::joined);
        if (!waiting || System.nanoTime() > deadline) {
          vertx.cancelTimer(id);
          p.tryComplete(behind);
        }
      } catch (RuntimeException e) {
        vertx.cancelTimer(id);
        LOG.warn("cluster: waiting for revision {}: {}", rev, e.toString());
        p.tryComplete(List.of());
      }
    });
    return p.future();
  }
}
