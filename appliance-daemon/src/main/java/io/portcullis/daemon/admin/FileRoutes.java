package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.ConfigDirectory;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Base64;
import java.util.List;

/**
 * The files beside the config ({@code show files}, {@code file import}): listed to every role, imported by the admin
 * role only (Access), audited with their size and SHA-256, never their content.
 */
final class FileRoutes {
  private FileRoutes() {
  }

  static void add(Router r, AdminVerticle.Host host, org.slf4j.Logger audit) {
    r.get("/api/v1/files").handler(ctx -> {
      ConfigDirectory d = directory(ctx, host);
      if (d != null) {
        ctx.vertx().executeBlocking(() -> {
          JsonArray out = new JsonArray();
          d.list().forEach(e -> out.add(json(e)));
          return new JsonObject().put("files", out);
        }, false).onComplete(ar -> answer(ctx, ar.succeeded() ? ar.result() : null, ar.cause()));
      }
    });
    // JSON {"base64": ...} (the console) or the bytes themselves (curl --data-binary @proxy.keytab).
    r.put("/api/v1/files/:name").handler(ctx -> {
      ConfigDirectory d = directory(ctx, host);
      if (d == null) {
        return;
      }
      String name = ctx.pathParam("name");
      byte[] data;
      try {
        data = content(ctx);
      } catch (IllegalArgumentException e) {
        audit.warn("user={} source={} import of file {} refused: {}", AdminVerticle.user(ctx),
            AdminVerticle.source(ctx), io.portcullis.daemon.logging.Logs.escape(name), e.getMessage());
        AdminVerticle.errorOf(ctx, 400, e.getMessage(), List.of());
        return;
      }
      io.portcullis.daemon.config.Config active = host.config();
      ctx.vertx().executeBlocking(() -> d.put(name, data, active.admin().maxFileSize(), active), false)
          .onComplete(ar -> {
        if (ar.succeeded()) {
          audit.warn("user={} source={} imported file {} ({} bytes, sha256 {})", AdminVerticle.user(ctx),
              AdminVerticle.source(ctx), name, ar.result().size(), ar.result().sha256());
        } else {
          audit.warn("user={} source={} import of file {} {}: {}", AdminVerticle.user(ctx),
              AdminVerticle.source(ctx), io.portcullis.daemon.logging.Logs.escape(name),
              ar.cause() instanceof IllegalArgumentException ? "refused" : "failed", ar.cause().getMessage());
        }
        answer(ctx, ar.succeeded() ? json(ar.result()) : null, ar.cause());
      });
    });
  }

  /** The node's config directory, or null after answering 409 (embedded defaults: there is none). */
  private static ConfigDirectory directory(RoutingContext ctx, AdminVerticle.Host host) {
    ConfigDirectory d = host.configDirectory();
    if (d == null) {
      AdminVerticle.errorOf(ctx, 409, "this node runs on embedded defaults: it has no config directory", List.of());
    }
    return d;
  }

  /** The body's bytes: Base64-decoded from a JSON body's {@code base64}, else as sent. */
  private static byte[] content(RoutingContext ctx) {
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw new IllegalArgumentException("no content: the file's bytes, or JSON {\"base64\": ...}");
    }
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
      return body.getBytes();
    }
    String b64;
    try {
      b64 = new JsonObject(body).getString("base64");
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("the body is not JSON {\"base64\": ...}");
    }
    if (b64 == null || b64.isBlank()) {
      throw new IllegalArgumentException("base64 is missing");
    }
    try {
      return Base64.getDecoder().decode(b64.replaceAll("\\s", "")); // strict: pasted PEM text is an error
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("base64 is not Base64: " + e.getMessage());
    }
  }

  private static void answer(RoutingContext ctx, JsonObject body, Throwable failure) {
    if (failure == null) {
      AdminVerticle.jsonOf(ctx, 200, body);
    } else if (failure instanceof IllegalArgumentException) {
      AdminVerticle.errorOf(ctx, 400, failure.getMessage(), List.of());
    } else {
      AdminVerticle.errorOf(ctx, 500, "the file could not be written: " + failure.getMessage(), List.of());
    }
  }

  private static JsonObject json(ConfigDirectory.Entry e) {
    return new JsonObject().put("name", e.name()).put("size", e.size()).put("mode", e.mode())
        .put("sha256", e.sha256()).put("modified", e.modified().toString());
  }
}
