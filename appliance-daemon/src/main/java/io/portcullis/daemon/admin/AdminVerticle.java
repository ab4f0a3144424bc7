package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.Redact;
import io.portcullis.daemon.config.AdminConfig;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.Durations;
import io.portcullis.daemon.config.EditSessions;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.Problem;
import io.portcullis.daemon.config.Revision;
import io.portcullis.daemon.events.Events;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;

/**
 * The admin API on {@code admin.listen}: health (open), metrics and the config endpoints (bearer token). JSON in and
 * out; errors are {@code {"error": …, "problems": [{path, message, line, column}]}}.
 */
public final class AdminVerticle extends ServiceVerticle<AdminSettings> {
  /** What the admin API needs of the node that hosts it; {@code Daemon} provides it. */
  public interface Host {
    /** The checks behind {@code /health/live}. */
    HealthChecks liveness();

    /** The checks behind {@code /health/ready}. */
    HealthChecks readiness();

    /** The Prometheus text of this node and, on a control node, of each node that reports; blocks. */
    String metrics();

    /** {@code show status}: version, revision, uptime, services, cluster link, a commit awaiting confirm. */
    JsonObject status();

    /** The rules in effect, each with its hits, then the proxy's own checks that decided something. */
    JsonObject rules();

    /** The balancer here and, on a control node, each node's as it last reported it. */
    JsonObject clusterBalancerStatus();

    /** {@code show cluster}: the role, and the nodes or the link to the control node. */
    JsonObject clusterStatus();

    /** On a control node, the join key of listed node {@code name}; else an exception. */
    String joinKey(String name);

    /** For a commit's answer on a control node with nodes: how many lag behind {@code revision}; else null. */
    JsonObject commitReport(int revision);

    /** The CA that signs the certificates HTTPS inspection shows users, or null before the first config is in effect. */
    io.portcullis.daemon.tls.InspectionCa inspectionCa();

    /** The files beside the config, for file import; null when the node runs on embedded defaults. */
    io.portcullis.daemon.config.ConfigDirectory configDirectory();

    /** The proxy's users logged in and remembered now, as {@code show users} lists them. */
    JsonObject users();

    /** The groups a login as {@code user} would have, and where from (local, directory, none); blocking. */
    java.util.Map.Entry<String, java.util.List<String>> groupsOf(String user) throws Exception;

    /** Replaces the node's own inspection CA with a new one, in effect when the future completes. */
    java.util.concurrent.CompletableFuture<io.portcullis.daemon.tls.InspectionCa> rotateInspectionCa();

    /** The config in effect. */
    Config config();

    /** The compiled rules in effect, for a dry run of a URL. */
    Policy policy();

    /** The node's commit queue. */
    CommitManager commits();

    /** The console's configuration sessions. */
    EditSessions sessions();

    /** Who a bearer token stands for. */
    Callers callers();

    /** The node's traffic events, for {@code show events}. */
    Events events();
  }

  private static final long MAX_BODY = 16L * 1024 * 1024;
  private static final String CALLER = "portcullis.caller";
  private volatile io.vertx.core.http.HttpServer server; // the newest bound: where a new certificate goes
  private static final org.slf4j.Logger AUDIT = org.slf4j.LoggerFactory.getLogger("portcullis.audit");
  private final Host host;

  /** An admin API for {@code host}, to listen as {@code initial} says. */
  public AdminVerticle(AdminSettings initial, Host host) {
    super(initial);
    this.host = host;
  }

  @Override
  protected HostPort address(AdminSettings settings) {
    return settings.config().listen();
  }

  @Override
  protected Future<Listener> bind(HostPort address, AdminSettings s) {
    // HTTP/1.1 only: Java's HttpClient asks for h2c by default, and answers larger than HTTP/2's first window (64 KiB:
    // /metrics, events) stalled after that upgrade until the idle timeout. Prometheus and curl speak HTTP/1.1 anyway.
    HttpServerOptions options = new HttpServerOptions().setHost(address.host()).setPort(address.port())
        .setMaxHeaderSize(16 * 1024).setIdleTimeout(120).setHttp2ClearTextEnabled(false);
    if (s.certificate() != null) {
      // Off loopback the token must never cross the network in clear: TLS only, no plain listener beside it.
      options.setSsl(true).setUseAlpn(false).setKeyCertOptions(new io.vertx.core.net.PemKeyCertOptions()
          .setCertPath(s.certificate().toString()).setKeyPath(s.key().toString()));
      options.getSslOptions().setEnabledSecureTransportProtocols(java.util.Set.of("TLSv1.2", "TLSv1.3"));
    }
    io.vertx.core.http.HttpServer created = vertx.createHttpServer(options);
    server = created;
    return created
        .requestHandler(router())
        .listen()
        .map(Listener::of);
  }

  @Override
  protected Future<Void> keep(AdminSettings previous, AdminSettings next) {
    if (next.certificate() == null || server == null || (java.util.Objects.equals(previous.certificate(),
        next.certificate()) && java.util.Objects.equals(previous.key(), next.key()))) {
      return Future.succeededFuture();
    }
    io.vertx.core.net.ServerSSLOptions ssl = new io.vertx.core.net.ServerSSLOptions().setKeyCertOptions(
        new io.vertx.core.net.PemKeyCertOptions().setCertPath(next.certificate().toString())
            .setKeyPath(next.key().toString()))
        .setEnabledSecureTransportProtocols(java.util.Set.of("TLSv1.2", "TLSv1.3"));
    return server.updateSSLOptions(ssl, true).<Void>map(updated -> null)
        .recover(e -> Future.failedFuture(new IllegalStateException("admin.tls: " + next.certificate()
            + " cannot be served: " + e.getMessage(), e)));
  }

  private Router router() {
    Router r = Router.router(vertx);
    r.get("/health/live").handler(HealthCheckHandler.createWithHealthChecks(host.liveness()));
    r.get("/health/ready").handler(HealthCheckHandler.createWithHealthChecks(host.readiness()));
    // The inspection CA's certificate is public: users' devices must be able to fetch it without any token.
    r.get("/api/v1/tls/ca.pem").handler(ctx -> {
      io.portcullis.daemon.tls.InspectionCa ca = host.inspectionCa();
      if (ca == null) {
        error(ctx, 503, "no inspection CA yet", List.of());
        return;
      }
      ctx.response().putHeader("Content-Type", "application/x-pem-file").end(ca.certificatePem());
    });
    r.route().handler(this::authenticate);
    r.get("/metrics").handler(ctx -> vertx.executeBlocking(host::metrics, false).onComplete(ar -> {
      if (ar.failed()) {
        error(ctx, 500, String.valueOf(ar.cause()), List.of());
        return;
      }
      // Every node's samples on a control node, labelled node="NAME" (text format 0.0.4).
      ctx.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(ar.result());
    }));
    r.route("/api/*").handler(BodyHandler.create().setBodyLimit(MAX_BODY).setHandleFileUploads(false));
    r.get("/api/v1/status").handler(ctx -> json(ctx, 200, host.status()));
    r.get("/api/v1/balancer").handler(ctx -> json(ctx, 200, host.clusterBalancerStatus()));
    r.get("/api/v1/cluster").handler(ctx -> json(ctx, 200, host.clusterStatus()));
    r.get("/api/v1/cluster/join-key").handler(ctx -> blocking(ctx, () -> new JsonObject()
        .put("node", ctx.queryParam("node").isEmpty() ? null : ctx.queryParam("node").get(0))
        .put("joinKey", host.joinKey(ctx.queryParam("node").isEmpty() ? "" : ctx.queryParam("node").get(0)))
        .put("caFingerprint", host.clusterStatus().getString("ca"))));
    r.get("/api/v1/rules").handler(ctx -> json(ctx, 200, host.rules()));
    r.get("/api/v1/users").handler(ctx -> json(ctx, 200, host.users()));
    FileRoutes.add(r, host, AUDIT);
    r.get("/api/v1/tls/ca").handler(ctx -> {
      io.portcullis.daemon.tls.InspectionCa ca = host.inspectionCa();
      if (ca == null) {
        error(ctx, 503, "no inspection CA yet", List.of());
        return;
      }
      json(ctx, 200, caJson(ca));
    });
    // A new CA every client must trust again: the admin's decision alone (Access), audited as a commit is.
    r.post("/api/v1/tls/ca/rotate").handler(ctx -> {
      io.portcullis.daemon.tls.InspectionCa before = host.inspectionCa();
      Future.fromCompletionStage(host.rotateInspectionCa(), vertx.getOrCreateContext()).onComplete(ar -> {
        if (ar.failed()) {
          Throwable c = ar.cause() instanceof java.util.concurrent.CompletionException && ar.cause().getCause() != null
              ? ar.cause().getCause() : ar.cause();
          error(ctx, 409, "the inspection CA was not rotated: " + c.getMessage(), List.of());
          return;
        }
        AUDIT.warn("user={} source={} rotated the inspection CA: {} replaces {}; every client must trust the new one",
            user(ctx), source(ctx), ar.result().fingerprint(), before == null ? "-" : before.fingerprint());
        json(ctx, 200, caJson(ar.result()).put("previous", before == null ? null : before.fingerprint()));
      });
    });
    r.get("/api/v1/balancer/haproxy.cfg").handler(ctx -> {
      try {
        String cfg = io.portcullis.daemon.balancer.HaproxyExport.render(
            io.portcullis.daemon.cluster.Membership.balancer(host.config()),
            ctx.queryParam("frontend"), host.config().node().name(), host.commits().active().revision());
        ctx.response().putHeader("Content-Type", "text/plain; charset=utf-8").end(cfg);
      } catch (IllegalArgumentException e) {
        error(ctx, 404, e.getMessage(), List.of());
      }
    });
    // Parsing a large config to hide its secrets takes a while: a worker thread, not the admin API's event loop.
    r.get("/api/v1/config").handler(ctx -> blocking(ctx, () -> {
      CommitManager.Active a = host.commits().active();
      String shown = Redact.yaml(a.text()); // secrets never leave the node's disk
      JsonObject out = new JsonObject().put("revision", a.revision()).put("yaml", shown);
      if ("set".equals(ctx.queryParams().get("format"))) {
        out.put("set", new JsonArray(io.portcullis.daemon.config.ConfigEditor.displaySet(shown)));
      }
      return out;
    }));
    r.get("/api/v1/candidate").handler(ctx -> blocking(ctx, () -> new JsonObject()
        .put("yaml", Redact.yaml(host.commits().candidate())).put("changed", host.commits().candidateChanged())));
    r.put("/api/v1/candidate").handler(ctx -> {
      JsonObject body = body(ctx);
      if (body == null) {
        return;
      }
      String yaml = body.getString("yaml");
      if (yaml == null) {
        error(ctx, 400, "body must be {\"yaml\": \"...\"}", List.of());
        return;
      }
      List<Problem> problems = host.commits().setCandidate(yaml);
      json(ctx, 200, new JsonObject().put("valid", problems.isEmpty()).put("problems", problems(problems)));
    });
    r.delete("/api/v1/candidate").handler(ctx -> {
      host.commits().discard();
      json(ctx, 200, new JsonObject().put("discarded", true));
    });
    r.post("/api/v1/commit/check").handler(ctx -> {
      List<Problem> problems = host.commits().check();
      json(ctx, problems.isEmpty() ? 200 : 422,
          new JsonObject().put("valid", problems.isEmpty()).put("problems", problems(problems)));
    });
    r.post("/api/v1/commit").handler(this::commit);
    // Blocking: the confirmation is on disk (a delete and an fsync) before it is answered.
    r.post("/api/v1/commit/confirm").handler(ctx -> blocking(ctx,
        () -> revision(host.commits().confirm()).put("confirmed", true)));
    r.post("/api/v1/rollback").handler(ctx -> {
      JsonObject body = body(ctx);
      if (body == null) {
        return;
      }
      Integer n = body.getInteger("revision");
      if (n == null) {
        error(ctx, 400, "body must be {\"revision\": N}", List.of());
        return;
      }
      blocking(ctx, () -> {
        host.commits().rollback(n);
        return new JsonObject().put("candidate", n).put("problems", problems(host.commits().check()));
      });
    });
    r.get("/api/v1/revisions").handler(ctx -> blocking(ctx, () -> {
      JsonArray list = new JsonArray();
      int active = host.commits().active().revision();
      for (Revision rev : host.commits().revisions()) {
        list.add(revision(rev).put("active", rev.number() == active));
      }
      return new JsonObject().put("revisions", list);
    }));
    r.get("/api/v1/revisions/:n").handler(ctx -> blocking(ctx, () -> {
      int n = Integer.parseInt(ctx.pathParam("n"));
      String text = host.commits().revisionText(n)
          .orElseThrow(() -> new IllegalArgumentException("revision " + n + " is not kept"));
      return new JsonObject().put("revision", n).put("yaml", Redact.yaml(text));
    }));
    r.get("/api/v1/compare").handler(ctx -> blocking(ctx, () -> {
      String n = ctx.queryParams().get("revision");
      return new JsonObject().put("diff", host.commits().compare(n == null ? null : Integer.parseInt(n)));
    }));
    SessionRoutes.add(r, host);
    r.route().last().handler(ctx -> error(ctx, 404, "no such endpoint: " + ctx.request().path(), List.of()));
    return r;
  }

  private void authenticate(RoutingContext ctx) {
    Callers.Caller c = host.callers().resolve(ctx.request().getHeader("Authorization"));
    if (c == null) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"portcullis\"");
      error(ctx, 401, "a valid bearer token is required (see " + AdminToken.FILE + " in the data dir)", List.of());
      return;
    }
    // The path the router matches (decoded, dot segments gone), not the raw one: /cluster/%6Aoin-key is join-key.
    String refusal = Access.refusal(c.role(), ctx.request().method().name(), ctx.normalizedPath());
    if (refusal != null) {
      AUDIT.warn("user={} source={} refused {} {}: {}", c.user(), c.source(), ctx.request().method().name(),
          Logs.escape(ctx.request().path()), refusal);
      error(ctx, 403, refusal, List.of());
      return;
    }
    ctx.put(CALLER, c);
    ctx.next();
  }

  /** The caller of {@code ctx}, as {@link #authenticate} proved it. */
  static Callers.Caller caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  /** The user a call is made for: an SSH console login's own, else the one the local console names. */
  static String user(RoutingContext ctx) {
    Callers.Caller c = caller(ctx);
    if (c != null && c.login()) {
      return c.user();
    }
    String u = ctx.request().getHeader("X-Portcullis-User");
    return u == null || u.isBlank() ? "api" : Logs.escape(u); // it goes into the audit log
  }

  /** Where the caller is: an SSH console login's client, else what the local console says, else the peer. */
  static String source(RoutingContext ctx) {
    Callers.Caller c = caller(ctx);
    if (c != null && c.login()) {
      return c.source();
    }
    String s = ctx.request().getHeader("X-Portcullis-Source");
    return s != null && !s.isBlank() ? Logs.escape(s) : ctx.request().remoteAddress() == null ? "-"
        : ctx.request().remoteAddress().hostAddress();
  }

  /** What the caller's role may commit, asked by the commit queue about the very text it would commit. */
  static CommitManager.Permission permission(RoutingContext ctx) {
    Callers.Caller c = caller(ctx);
    io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role role = c == null
        ? io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.READ_ONLY : c.role();
    return (from, to) -> Access.commitRefusal(role, from, to);
  }

  /** Answers 403 (and audits) when {@code cause} is a commit the caller's role may not make; true if it was. */
  static boolean refused(RoutingContext ctx, Throwable cause) {
    if (!(cause instanceof CommitManager.RefusedException r)) {
      return false;
    }
    AUDIT.warn("user={} source={} commit refused: {}", user(ctx), source(ctx), r.getMessage());
    errorOf(ctx, 403, r.getMessage(), List.of());
    return true;
  }

  private void commit(RoutingContext ctx) {
    JsonObject body = ctx.body().isEmpty() ? new JsonObject() : body(ctx);
    if (body == null) {
      return;
    }
    Duration confirm = null;
    String confirmText = body.getString("confirm");
    if (confirmText != null) {
      try {
        confirm = Durations.parse(confirmText);
      } catch (IllegalArgumentException e) {
        error(ctx, 400, "confirm: \"" + confirmText + "\" " + e.getMessage(), List.of());
        return;
      }
    }
    Duration within = confirm;
    host.commits().commitText(null, -1, user(ctx), body.getString("message", ""), within,
            body.getBoolean("force", false), permission(ctx))
        .whenComplete((rev, err) -> ctx.vertx().runOnContext(v -> {
          if (err == null) {
            JsonObject out = revision(rev);
            JsonObject nodes = host.commitReport(rev.number());
            if (nodes != null) {
              out.put("nodes", nodes);
            }
            host.commits().pending().ifPresent(p -> out.put("confirmBy", p.deadline().toString()));
            json(ctx, 200, out);
            return;
          }
          Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
          if (refused(ctx, cause)) {
            return;
          }
          if (cause instanceof CommitManager.CommitException ce) {
            error(ctx, commitStatus(ce), ce.getMessage(), ce.problems());
          } else {
            error(ctx, 500, String.valueOf(cause.getMessage()), List.of());
          }
        }));
  }

  private void blocking(RoutingContext ctx, Callable<JsonObject> work) {
    vertx.executeBlocking(work, false).onComplete(ar -> {
      if (ar.succeeded()) {
        json(ctx, 200, ar.result());
      } else if (ar.cause() instanceof IllegalArgumentException e) {
        error(ctx, 404, e.getMessage(), List.of());
      } else if (ar.cause() instanceof IllegalStateException e) {
        error(ctx, 409, e.getMessage(), List.of());
      } else {
        error(ctx, 500, String.valueOf(ar.cause().getMessage()), List.of());
      }
    });
  }

  /** The status of a refused commit: 507 when the disk could not record it, 422 with problems, else 409. */
  static int commitStatus(CommitManager.CommitException e) {
    return e.notSaved() ? 507 : e.problems().isEmpty() ? 409 : 422;
  }

  static JsonObject bodyOf(RoutingContext ctx) {
    return body(ctx);
  }

  static void jsonOf(RoutingContext ctx, int status, JsonObject body) {
    json(ctx, status, body);
  }

  static void errorOf(RoutingContext ctx, int status, String message, List<Problem> problems) {
    error(ctx, status, message, problems);
  }

  private static JsonObject body(RoutingContext ctx) {
    try {
      JsonObject b = ctx.body().asJsonObject();
      if (b == null) {
        error(ctx, 400, "a JSON object body is required", List.of());
      }
      return b;
    } catch (DecodeException | ClassCastException e) {
      error(ctx, 400, "body is not a JSON object", List.of());
      return null;
    }
  }

  private static JsonObject revision(Revision rev) {
    return new JsonObject().put("revision", rev.number()).put("time", rev.time().toString())
        .put("author", rev.author()).put("message", rev.message());
  }

  static JsonArray problems(List<Problem> problems) {
    JsonArray a = new JsonArray();
    for (Problem p : problems) {
      a.add(new JsonObject().put("path", p.path()).put("message", p.message()).put("line", p.line())
          .put("column", p.column()).put("text", p.toString()));
    }
    return a;
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store").end(body.encodePrettily());
  }

  /** The inspection CA as {@code GET /api/v1/tls/ca} answers it. */
  private static JsonObject caJson(io.portcullis.daemon.tls.InspectionCa ca) {
    java.security.cert.X509Certificate c = ca.certificate();
    return new JsonObject().put("subject", c.getSubjectX500Principal().getName())
        .put("notBefore", c.getNotBefore().toInstant().toString())
        .put("notAfter", c.getNotAfter().toInstant().toString()).put("fingerprint", ca.fingerprint())
        .put("nodeOwn", ca.nodeOwn()).put("pageHost", io.portcullis.daemon.proxy.ProxySettings.CA_PAGE_HOST)
        .put("pem", ca.certificatePem());
  }

  private static void error(RoutingContext ctx, int status, String message, List<Problem> problems) {
    JsonObject body = new JsonObject().put("error", message);
    if (!problems.isEmpty()) {
      body.put("problems", problems(problems));
    }
    json(ctx, status, body);
  }
}
