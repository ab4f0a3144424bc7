package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.Redact;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.ConfigSchema;
import io.portcullis.daemon.config.Durations;
import io.portcullis.daemon.config.EditSessions;
import io.portcullis.daemon.config.Problem;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;

/**
 * The console's configuration sessions on the admin API ({@code /api/v1/sessions}) and the schema it builds its
 * command tree and completion from ({@code /api/v1/schema}).
 */
final class SessionRoutes {
  private SessionRoutes() {
  }

  static void add(Router r, AdminVerticle.Host host) {
    // A configuration session's candidate is its user's own: another SSH user's token cannot read, edit or commit it
    // (as if it did not exist). The local console (the node's token) may use any, as root may.
    io.vertx.core.Handler<RoutingContext> owner = ctx -> {
      Callers.Caller c = AdminVerticle.caller(ctx);
      String id = ctx.pathParam("id");
      EditSessions.Session s = id == null ? null : host.sessions().peek(id);
      if (c != null && c.login() && s != null && !s.user().equals(c.user())) {
        AdminVerticle.errorOf(ctx, 404, new EditSessions.NoSuchSession(id).getMessage(), List.of());
        return;
      }
      ctx.next();
    };
    r.route("/api/v1/sessions/:id").handler(owner);
    r.route("/api/v1/sessions/:id/*").handler(owner);
    r.get("/api/v1/schema").handler(ctx -> {
      JsonArray keys = new JsonArray();
      for (ConfigSchema.Key k : ConfigSchema.keys()) {
        JsonObject o = new JsonObject().put("path", k.path()).put("type", k.type()).put("doc", k.doc());
        if (k.defaultValue() != null) {
          o.put("default", k.defaultValue());
        }
        if (k.type().contains(", ") && !k.type().startsWith("list")) {
          o.put("values", new JsonArray(List.of(k.type().split(", "))));
        }
        keys.add(o);
      }
      AdminVerticle.jsonOf(ctx, 200, new JsonObject().put("keys", keys));
    });
    r.get("/api/v1/commit/progress").handler(ctx -> {
      CommitManager.Progress p = host.commits().progress();
      AdminVerticle.jsonOf(ctx, 200, new JsonObject().put("running", p.running()).put("phase", p.phase())
          .put("done", p.done()).put("total", p.total())
          .put("elapsedMs", p.startedMillis() == 0 ? 0 : System.currentTimeMillis() - p.startedMillis())
          .put("steps", new JsonArray(host.commits().steps())));
    });
    r.get("/api/v1/events").handler(ctx -> run(ctx, () -> events(host, ctx)));
    r.post("/api/v1/test-url").handler(ctx -> {
      JsonObject body = AdminVerticle.bodyOf(ctx);
      if (body == null) {
        return;
      }
      run(ctx, () -> testUrl(host, body));
    });
    r.post("/api/v1/sessions").handler(ctx -> run(ctx, () -> {
      EditSessions.Session s = host.sessions().open(user(ctx), source(ctx));
      return new JsonObject().put("session", s.id()).put("base", s.base());
    }));
    r.get("/api/v1/sessions/:id").handler(ctx -> run(ctx, () -> {
      EditSessions.Session s = host.sessions().get(ctx.pathParam("id"));
      return new JsonObject().put("base", s.base()).put("changed", s.changed()).put("yaml", Redact.yaml(s.candidate()))
          .put("active", host.commits().active().revision());
    }));
    r.delete("/api/v1/sessions/:id").handler(ctx -> run(ctx, () -> {
      host.sessions().close(ctx.pathParam("id"));
      return new JsonObject().put("closed", true);
    }));
    for (String op : List.of("set", "delete")) {
      r.post("/api/v1/sessions/:id/" + op).handler(ctx -> {
        JsonObject body = AdminVerticle.bodyOf(ctx);
        if (body == null) {
          return;
        }
        run(ctx, () -> problems(host.sessions().edit(ctx.pathParam("id"), op.equals("set"), words(body, "path"))));
      });
    }
    r.post("/api/v1/sessions/:id/insert").handler(ctx -> {
      JsonObject body = AdminVerticle.bodyOf(ctx);
      if (body == null) {
        return;
      }
      run(ctx, () -> problems(host.sessions().insert(ctx.pathParam("id"), words(body, "list"),
          body.getString("item"), "before".equals(body.getString("position")), body.getString("ref"))));
    });
    r.get("/api/v1/sessions/:id/compare").handler(ctx -> run(ctx, () -> new JsonObject()
        .put("diff", host.sessions().compare(ctx.pathParam("id")))));
    r.get("/api/v1/sessions/:id/set").handler(ctx -> run(ctx, () -> new JsonObject()
        .put("set", new JsonArray(ConfigEditor.displaySet(
            Redact.yaml(host.sessions().get(ctx.pathParam("id")).candidate()))))));
    r.post("/api/v1/sessions/:id/check").handler(ctx -> run(ctx, () -> problems(
        host.sessions().check(ctx.pathParam("id")))));
    r.post("/api/v1/sessions/:id/discard").handler(ctx -> run(ctx, () -> {
      host.sessions().discard(ctx.pathParam("id"));
      return new JsonObject().put("discarded", true);
    }));
    r.post("/api/v1/sessions/:id/rollback").handler(ctx -> {
      JsonObject body = AdminVerticle.bodyOf(ctx);
      if (body == null) {
        return;
      }
      ctx.vertx().executeBlocking(() -> {
        host.sessions().rollback(ctx.pathParam("id"), body.getInteger("revision", -1));
        return problems(host.sessions().check(ctx.pathParam("id")));
      }, false).onComplete(ar -> {
        if (ar.succeeded()) {
          AdminVerticle.jsonOf(ctx, 200, ar.result());
        } else {
          fail(ctx, ar.cause());
        }
      });
    });
    r.post("/api/v1/sessions/:id/commit").handler(ctx -> commit(ctx, host));
  }

  /** A dry run of a request through the rules in effect: which bypass, access and protection rule match. */
  private static JsonObject testUrl(AdminVerticle.Host host, JsonObject body) throws Exception {
    String url = body.getString("url");
    if (url == null || !url.matches("(?i)https?://\\S+")) {
      throw new IllegalArgumentException("url must be an absolute http:// or https:// URL");
    }
    String method = body.getString("method", "GET");
    String client = body.getString("client", "127.0.0.1");
    String user = body.getString("user");
    JsonArray g = body.getJsonArray("groups");
    List<String> groups = g == null ? List.of() : g.stream().map(String::valueOf).toList();
    String groupsFrom = g == null ? null : "given";
    if (user != null && g == null) {
      // As a login would find them: a local user's, else the directory's.
      java.util.Map.Entry<String, List<String>> found;
      try {
        found = host.groupsOf(user);
      } catch (Exception e) {
        throw new IllegalStateException("the groups of " + user + " cannot be looked up: " + e.getMessage(), e);
      }
      groups = found.getValue();
      groupsFrom = found.getKey();
    }
    boolean tls = url.regionMatches(true, 0, "https://", 0, 8);
    String target = url;
    if (tls) {
      // An https URL reaches the rules as its CONNECT (host:port), as the proxy sees it without TLS interception.
      String rest = url.substring(8);
      int slash = rest.indexOf('/');
      String authority = slash < 0 ? rest : rest.substring(0, slash);
      target = authority.contains(":") ? authority : authority + ":443";
      method = "CONNECT";
    }
    io.portcullis.daemon.rules.Policy policy = host.policy();
    io.portcullis.daemon.rules.Facts facts = new io.portcullis.daemon.rules.Facts(method, target, client, user, groups,
        null, java.time.Instant.now());
    JsonObject out = new JsonObject().put("url", url).put("method", method).put("client", client)
        .put("host", facts.host());
    if (user != null) {
      out.put("user", user).put("groups", new JsonArray(groups)).put("groupsFrom", groupsFrom);
    }
    String bypass = policy.bypass(facts);
    if (bypass != null) {
      return out.put("bypass", bypass).put("verdict", "bypass (no access or protection processing)");
    }
    io.portcullis.daemon.rules.Decision d = policy.access(facts);
    JsonObject access = new JsonObject().put("action", d.actionName()).put("rule", d.rule());
    if (d.location() != null) {
      access.put("location", d.location());
    }
    if (d.category() != null) {
      access.put("category", d.category());
    }
    out.put("access", access);
    io.portcullis.daemon.rules.Protection p = policy.protection(facts);
    out.put("protection", new JsonObject().put("scan", p.scan()).put("rule", p.rule()));
    return out.put("verdict", d.rule() == null ? "allowed (no access rule matches)" : d.actionName() + " by rule "
        + d.rule());
  }

  private static void commit(RoutingContext ctx, AdminVerticle.Host host) {
    JsonObject body = ctx.body().isEmpty() ? new JsonObject() : AdminVerticle.bodyOf(ctx);
    if (body == null) {
      return;
    }
    Duration confirm;
    try {
      confirm = body.getString("confirm") == null ? null : Durations.parse(body.getString("confirm"));
    } catch (IllegalArgumentException e) {
      AdminVerticle.errorOf(ctx, 400, "confirm: " + e.getMessage(), List.of());
      return;
    }
    String id = ctx.pathParam("id");
    try {
      host.sessions().commit(id, body.getString("message", ""), confirm, body.getBoolean("force", false),
              AdminVerticle.permission(ctx))
          .whenComplete((rev, err) -> ctx.vertx().runOnContext(v -> {
            if (err == null) {
              JsonObject out = new JsonObject().put("revision", rev.number());
              JsonObject nodes = host.commitReport(rev.number());
              if (nodes != null) {
                out.put("nodes", nodes);
              }
              host.commits().pending().ifPresent(p -> out.put("confirmBy", p.deadline().toString()));
              AdminVerticle.jsonOf(ctx, 200, out);
              return;
            }
            Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            if (AdminVerticle.refused(ctx, cause)) {
              return;
            }
            if (cause instanceof CommitManager.StaleException) {
              AdminVerticle.jsonOf(ctx, 409, new JsonObject().put("error", cause.getMessage())
                  .put("changed", host.sessions().changedMeanwhile(id)));
            } else if (cause instanceof CommitManager.CommitException ce) {
              AdminVerticle.errorOf(ctx, AdminVerticle.commitStatus(ce), ce.getMessage(), ce.problems());
            } else {
              fail(ctx, cause);
            }
          }));
    } catch (RuntimeException e) {
      fail(ctx, e);
    }
  }

  private interface Work {
    JsonObject get() throws Exception;
  }

  /**
   * {@code GET /api/v1/events}: with {@code after=N}, the events numbered after N from the recent ring (follow);
   * without, the last {@code limit} from the journal. Filters: client, user, host, action, type, rule, source, url,
   * threat, since and until (an instant, or a duration back from now: 15m, 2h, 1d).
   */
  private static JsonObject events(AdminVerticle.Host host, RoutingContext ctx) throws Exception {
    var q = ctx.queryParams();
    int limit = q.get("limit") == null ? 20 : Integer.parseInt(q.get("limit"));
    if (limit < 1 || limit > 10_000) {
      throw new IllegalArgumentException("limit " + limit + " is not between 1 and 10000");
    }
    io.portcullis.daemon.events.EventFilter filter = new io.portcullis.daemon.events.EventFilter(q.get("client"),
        q.get("user"), q.get("host"), q.get("action"), q.get("type"), q.get("rule"), q.get("source"), q.get("url"),
        q.get("threat"), instant(q.get("since")), instant(q.get("until")), q.get("node"));
    if (filter.problem() != null) {
      throw new IllegalArgumentException(filter.problem());
    }
    io.portcullis.daemon.events.Events events = host.events();
    JsonArray out = new JsonArray();
    JsonObject answer = new JsonObject().put("events", out);
    if (q.get("after") != null) {
      io.portcullis.daemon.events.Events.Page p = events.follow(Long.parseLong(q.get("after")), limit, filter);
      p.events().forEach(e -> out.add(e.toJson()));
      return answer.put("last", p.last()).put("missed", p.missed());
    }
    events.query(filter, limit).forEach(e -> out.add(e.toJson()));
    return answer.put("last", events.follow(-1, 1, io.portcullis.daemon.events.EventFilter.ALL).last())
        .put("missed", 0);
  }

  /** An instant ({@code 2026-11-29T10:00:00Z}) or a duration back from now ({@code 15m}); null stays null. */
  private static java.time.Instant instant(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return java.time.Instant.parse(text);
    } catch (java.time.format.DateTimeParseException e) {
      try {
        return java.time.Instant.now().minus(Durations.parse(text));
      } catch (RuntimeException e2) {
        throw new IllegalArgumentException(text + " is neither an instant (2026-11-29T10:00:00Z) nor a duration "
            + "back from now (15m, 2h, 1d)");
      }
    }
  }

  /** Runs {@code work} on a worker: YAML edits and validation of a large config must not hold the event loop. */
  private static void run(RoutingContext ctx, Work work) {
    ctx.vertx().executeBlocking(work::get, false).onComplete(ar -> {
      if (ar.succeeded()) {
        AdminVerticle.jsonOf(ctx, 200, ar.result());
      } else {
        fail(ctx, ar.cause());
      }
    });
  }

  private static void fail(RoutingContext ctx, Throwable e) {
    if (e instanceof EditSessions.NoSuchSession) {
      AdminVerticle.errorOf(ctx, 404, e.getMessage(), List.of());
    } else if (e instanceof ConfigEditor.EditException || e instanceof IllegalArgumentException) {
      AdminVerticle.errorOf(ctx, 400, e.getMessage(), List.of());
    } else if (e instanceof IllegalStateException) {
      AdminVerticle.errorOf(ctx, 409, e.getMessage(), List.of());
    } else {
      AdminVerticle.errorOf(ctx, 500, String.valueOf(e.getMessage()), List.of());
    }
  }

  private static JsonObject problems(List<Problem> problems) {
    return new JsonObject().put("valid", problems.isEmpty()).put("problems", AdminVerticle.problems(problems));
  }

  private static List<String> words(JsonObject body, String key) {
    JsonArray a = body.getJsonArray(key);
    if (a == null || a.isEmpty()) {
      throw new IllegalArgumentException("body must be {\"" + key + "\": [\"word\", ...]}");
    }
    return a.stream().map(String::valueOf).toList();
  }

  private static String user(RoutingContext ctx) {
    return AdminVerticle.user(ctx);
  }

  /** Where the user is: the SSH client's address when the console runs in the daemon's SSH server, else the caller. */
  private static String source(RoutingContext ctx) {
    return AdminVerticle.source(ctx);
  }
}
