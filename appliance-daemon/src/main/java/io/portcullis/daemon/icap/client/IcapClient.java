package io.portcullis.daemon.icap.client;

import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The proxy's ICAP client on one event loop: OPTIONS (cached for Options-TTL), failover over a list of services,
 * pooled persistent connections, and whole small exchanges ({@link #exchange}). The transactions built on it are
 * {@link Reqmod} and the streaming {@link Respmod}.
 */
public final class IcapClient {
  private final Vertx vertx;
  private final IcapConnectionPool pool;
  private final Duration timeout;
  private final Map<IcapService, IcapOptions> options = new HashMap<>();

  public IcapClient(Vertx vertx, IcapConnectionPool pool, Duration timeout) {
    this.vertx = vertx;
    this.pool = pool;
    this.timeout = timeout;
  }

  public IcapConnectionPool pool() {
    return pool;
  }

  /** A connection to the first of {@code services} that answers, with that service's OPTIONS. */
  public Future<Acquired> acquire(List<IcapService> services) {
    return acquire(services, 0, null);
  }

  /** A connection and what its service offers. */
  public record Acquired(IcapConnectionPool.Conn conn, IcapOptions options) {
  }

  private Future<Acquired> acquire(List<IcapService> services, int i, Throwable last) {
    if (i >= services.size()) {
      return Future.failedFuture(last == null ? new IllegalStateException("no ICAP service configured") : last);
    }
    IcapService s = services.get(i);
    return pool.acquire(s).compose(c -> optionsOf(c).map(o -> new Acquired(c, o)))
        .recover(e -> acquire(services, i + 1, e));
  }

  private Future<IcapOptions> optionsOf(IcapConnectionPool.Conn c) {
    IcapOptions o = options.get(c.service);
    if (o != null && o.validUntilNanos() - System.nanoTime() > 0) {
      return Future.succeededFuture(o);
    }
    IcapRequest req = new IcapRequest("OPTIONS", c.service.uri(), Headers.of("Host", c.service.host() + ":"
        + c.service.port(), "Allow", "204"), null, null, BodyKind.NULL_BODY, -1);
    return exchange(c, IcapEncoder.encode(req), 64 * 1024).map(r -> {
      IcapResponse head = r.head();
      int preview = -1;
      try {
        String p = head.headers().get("Preview");
        preview = p == null ? -1 : Integer.parseInt(p.strip());
      } catch (NumberFormatException e) {
        preview = -1;
      }
      long ttl = 3600;
      try {
        String t = head.headers().get("Options-TTL");
        ttl = t == null ? 3600 : Long.parseLong(t.strip());
      } catch (NumberFormatException e) {
        ttl = 3600;
      }
      IcapOptions fresh = new IcapOptions(preview, head.headers().hasToken("Allow", "204"),
          System.nanoTime() + ttl * 1_000_000_000L);
      options.put(c.service, fresh);
      return fresh;
    }).recover(e -> {
      pool.discard(c);
      return Future.failedFuture(e);
    });
  }

  /** A complete answer: its head and its (bounded) body. */
  public record Answer(IcapResponse head, Buffer body) {
  }

  /**
   * Sends {@code bytes} (a whole request) on {@code c} and collects the final answer (skipping 100 Continue), its
   * body bounded by {@code maxBody}. The connection stays the caller's.
   */
  public Future<Answer> exchange(IcapConnectionPool.Conn c, byte[] bytes, long maxBody) {
    return exchange(c, bytes, maxBody, null);
  }

  /**
   * As {@link #exchange(IcapConnectionPool.Conn, byte[], long)}; on a 100 Continue, {@code rest} gives the rest of
   * the body (already chunked, last chunk included) to send.
   */
  public Future<Answer> exchange(IcapConnectionPool.Conn c, byte[] bytes, long maxBody,
      java.util.function.Supplier<Future<byte[]>> rest) {
    Promise<Answer> p = Promise.promise();
    Buffer body = Buffer.buffer();
    IcapResponse[] head = new IcapResponse[1];
    long timer = vertx.setTimer(timeout.toMillis(), t -> p.tryFail("ICAP service " + c.service + " timed out"));
    c.attach(e -> {
      if (e instanceof IcapDecoder.Head h) {
        head[0] = (IcapResponse) h.message();
      } else if (e instanceof IcapDecoder.Body b) {
        if (body.length() + b.data().remaining() > maxBody) {
          p.tryFail("ICAP answer body larger than " + maxBody + " bytes");
          return;
        }
        byte[] chunk = new byte[b.data().remaining()];
        b.data().get(chunk);
        body.appendBytes(chunk);
      } else if (e instanceof IcapDecoder.End) {
        if (head[0] != null && head[0].status() == 100) {
          if (rest == null) {
            p.tryFail("ICAP service " + c.service + " asked to continue where no body follows");
            return;
          }
          rest.get().onSuccess(more -> c.socket().write(Buffer.buffer(more))).onFailure(p::tryFail);
        } else if (head[0] != null) {
          vertx.cancelTimer(timer);
          p.tryComplete(new Answer(head[0], body));
        }
      } else if (e instanceof IcapDecoder.Error err) {
        p.tryFail("bad ICAP answer from " + c.service + ": " + err.reason());
      }
    }, () -> p.tryFail("ICAP service " + c.service + " closed the connection"));
    c.socket().write(Buffer.buffer(bytes)).onFailure(p::tryFail);
    return p.future().onComplete(x -> vertx.cancelTimer(timer));
  }

  /** {@code r} marked for our ICAP server: it answers its decision in headers and leaves the event to us. */
  public static IcapRequest askingForDecision(IcapRequest r) {
    return new IcapRequest(r.method(), r.uri(), r.headers().with(
        io.portcullis.daemon.icap.codec.DecisionHeaders.EVENTS, "client"), r.httpRequest(), r.httpResponse(),
        r.body(), r.preview());
  }

  /** An ICAP request head for the proxy's messages. */
  public static IcapRequest request(String method, IcapService s, String clientIp, String user, HttpHead req,
      HttpHead res, BodyKind body, int preview, boolean allow204) {
    return request(method, s, clientIp, user, java.util.List.of(), req, res, body, preview, allow204);
  }

  /**
   * As above, with the user's name in {@code X-Client-Username} (plain) and {@code X-Authenticated-User} (Base64),
   * and groups in {@code X-Authenticated-Groups} (comma-separated, as the rules read them).
   */
  public static IcapRequest request(String method, IcapService s, String clientIp, String user,
      java.util.List<String> groups, HttpHead req, HttpHead res, BodyKind body, int preview, boolean allow204) {
    Headers h = Headers.of("Host", s.host() + ":" + s.port());
    if (allow204) {
      h = h.with("Allow", "204");
    }
    if (clientIp != null) {
      h = h.with("X-Client-IP", clientIp);
    }
    if (user != null) {
      // Both of Squid's ways: plain under its default header, Base64 under the one most ICAP servers read
      // (icap_client_username_header X-Authenticated-User with icap_client_username_encode on).
      if (fieldSafe(user)) {
        h = h.with("X-Client-Username", user);
      }
      h = h.with("X-Authenticated-User", base64(user));
    }
    // A directory's names are not ours to trust: one with a line break would add ICAP header fields of its own.
    java.util.List<String> safe = groups.stream().filter(g -> g.chars().noneMatch(c -> c < 0x20 || c == 0x7f)
        && g.indexOf(',') < 0).toList();
    if (!safe.isEmpty()) {
      // ICAP heads go out as Latin-1, which few servers read as such: a list with a letter beyond ASCII goes
      // Base64-encoded in the extensions draft's form, which our ICAP server and the draft's readers decode.
      h = h.with("X-Authenticated-Groups", safe.stream().allMatch(IcapClient::fieldSafe) ? String.join(", ", safe)
          : base64(String.join(", ", safe.stream().map(g -> "Local://" + g).toList())));
    }
    return new IcapRequest(method, s.uri(), h, req, res, body, preview);
  }

  /** Whether {@code v} may be an ICAP header field's value as it is: printable ASCII (heads are sent as Latin-1). */
  static boolean fieldSafe(String v) {
    return v.chars().allMatch(c -> c >= 0x20 && c < 0x7f);
  }

  private static String base64(String v) {
    return java.util.Base64.getEncoder().encodeToString(v.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
