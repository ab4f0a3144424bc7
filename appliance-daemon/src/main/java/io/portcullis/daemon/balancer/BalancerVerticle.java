package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.BalancerConfig.Mode;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.pages.ErrorPage;
import io.portcullis.daemon.proxy.RequestFraming;
import io.portcullis.daemon.proxy.RequestGuard;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The balancer on one event loop: a listener per frontend; {@code tcp} frontends splice each client connection to a
 * server byte for byte, {@code http} frontends send each request to a server (keep-alive both sides, bodies streamed,
 * CONNECT tunnels). A server that cannot be reached is retried on another one. Settings are read per connection or
 * request, so a commit applies at once; listeners are bound, kept or drained as frontends come and go.
 */
public final class BalancerVerticle extends ServiceVerticle<Balancer> {
  private static final Logger LOG = LoggerFactory.getLogger(BalancerVerticle.class);

  /** A listener and the mode it was bound for. */
  private record Bound(Mode mode, Listener listener) {
  }

  /** The client settings a frontend's pooled connections depend on. */
  private record ClientKey(Duration connectTimeout, Duration idleTimeout, int poolSize) {
    static ClientKey of(BalancerConfig.Frontend f) {
      return new ClientKey(f.connectTimeout(), f.idleTimeout(), f.maxConnectionsPerServer());
    }
  }

  private final Map<HostPort, Bound> bound = new HashMap<>();
  private final Map<ClientKey, HttpClient> httpClients = new HashMap<>();
  private final Map<ClientKey, NetClient> netClients = new HashMap<>();

  public BalancerVerticle(Balancer initial) {
    super(initial);
  }

  @Override
  protected HostPort address(Balancer b) {
    List<BalancerConfig.Frontend> f = b.config().frontends();
    return f.isEmpty() ? null : f.get(0).listen(); // the first; each frontend binds its own (bindMissing)
  }

  @Override
  public String where(Balancer b) {
    List<BalancerConfig.Frontend> f = b.config().frontends();
    return f.isEmpty() ? null : String.join(", ", f.stream().map(x -> x.listen().toString()).toList());
  }

  @Override
  protected Future<Listener> bind(HostPort address, Balancer b) {
    Frontend f = b.frontend(address);
    return f.config().mode() == Mode.TCP ? bindTcp(f.config()) : bindHttp(f.config());
  }

  @Override
  public Future<?> start() {
    Balancer b = settings();
    return bindMissing(b).map(fresh -> {
      bound.putAll(fresh);
      b.start();
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    bound.values().forEach(x -> closing.add(x.listener().shutdown(grace())));
    bound.clear();
    settings().stop();
    return Future.join(closing).eventually(() -> {
      httpClients.values().forEach(HttpClient::close);
      netClients.values().forEach(NetClient::close);
      return Future.succeededFuture();
    });
  }

  @Override
  public Future<Prepared> prepare(Balancer next) {
    Promise<Prepared> promise = Promise.promise();
    context.runOnContext(v -> {
      for (BalancerConfig.Frontend f : next.config().frontends()) {
        Bound b = bound.get(f.listen());
        if (b != null && b.mode() != f.mode()) {
          promise.fail(new IllegalStateException("frontend " + f.name() + ": " + f.listen() + " serves "
              + b.mode().name().toLowerCase() + " now; to change its mode, give it another listen address (or "
              + "restart the daemon)"));
          return;
        }
      }
      bindMissing(next).onComplete(ar -> {
        if (ar.failed()) {
          promise.fail(ar.cause());
          return;
        }
        Map<HostPort, Bound> fresh = ar.result();
        promise.complete(new Prepared() {
          public void activate() {
            Balancer old = settings();
            settings(next);
            next.start();
            old.stop();
            context.runOnContext(x -> {
              bound.putAll(fresh);
              for (HostPort listen : List.copyOf(bound.keySet())) {
                if (next.frontend(listen) == null) {
                  bound.remove(listen).listener().shutdown(grace()); // removed frontend: its connections drain
                }
              }
            });
          }

          public void abort() {
            fresh.values().forEach(x -> x.listener().shutdown(Duration.ZERO));
          }
        });
      });
    });
    return promise.future();
  }

  /** Binds the frontends of {@code b} not bound yet; on a failure unbinds those it bound and fails. */
  private Future<Map<HostPort, Bound>> bindMissing(Balancer b) {
    Map<HostPort, Bound> fresh = new HashMap<>();
    List<Future<Listener>> all = new ArrayList<>();
    for (Frontend f : b.frontends()) {
      HostPort listen = f.config().listen();
      if (bound.containsKey(listen)) {
        continue;
      }
      Future<Listener> l = bind(listen, b).onSuccess(x -> fresh.put(listen, new Bound(f.config().mode(), x)))
          .recover(e -> Future.failedFuture(new IllegalStateException("frontend " + f.name() + " cannot listen on "
              + listen + ": " + e.getMessage(), e)));
      all.add(l);
    }
    return Future.join(all).transform(ar -> {
      if (ar.failed()) {
        fresh.values().forEach(x -> x.listener().shutdown(Duration.ZERO));
        Throwable cause = all.stream().filter(Future::failed).findFirst().map(Future::cause).orElse(ar.cause());
        return Future.failedFuture(cause);
      }
      return Future.succeededFuture(fresh);
    });
  }

  // ---- tcp ----

  private Future<Listener> bindTcp(BalancerConfig.Frontend f) {
    HostPort listen = f.listen();
    return vertx.createNetServer(new NetServerOptions().setHost(listen.host()).setPort(listen.port())
            .setTcpNoDelay(true)) // idle: the splice's own (Splice), not Netty's per-write idle handler
        .connectHandler(sock -> onTcp(listen, sock))
        .listen()
        .map(Listener::of);
  }

  private void onTcp(HostPort listen, NetSocket client) {
    Frontend f = settings().frontend(listen);
    if (f != null && !f.allows(client.remoteAddress())) {
      refuse(f, client.remoteAddress());
      client.close();
      return;
    }
    if (f == null || !admit(f)) {
      client.close();
      return;
    }
    Splice.hold(client);
    boolean[] gone = {false};
    client.closeHandler(v -> gone[0] = true);
    int hash = Frontend.clientHash(client.remoteAddress() == null ? null : client.remoteAddress().hostAddress());
    connectTcp(f, client, gone, hash, null, 0);
  }

  /** Counts and logs (at debug: a scan must not flood the log) a client outside the frontend's allowedClients. */
  private void refuse(Frontend f, SocketAddress client) {
    settings().refused(f, "allowedClients");
    LOG.debug("balancer {}: refused {}: not in its allowedClients", f.name(), client);
  }

  /** Counts a client connection in; false (and not counted) when the frontend has its maxConnections. */
  private boolean admit(Frontend f) {
    if (f.clients().incrementAndGet() > f.config().maxConnections()) {
      f.clients().decrementAndGet();
      settings().refused(f, "maxConnections");
      LOG.warn("balancer {}: {} client connections, its maxConnections: refused one", f.name(),
          f.config().maxConnections());
      return false;
    }
    return true;
  }

  private void connectTcp(Frontend f, NetSocket client, boolean[] gone, int hash, Set<Server> tried, int attempt) {
    Server s = f.open(hash, tried);
    if (s == null) {
      LOG.warn("balancer {}: no server available{}; closed a client connection", f.name(),
          tried == null ? "" : " (" + tried.size() + " failed)");
      f.clients().decrementAndGet();
      client.close();
      return;
    }
    netClient(f.config()).connect(s.address().port(), s.address().host()).onComplete(ar -> {
      if (ar.failed()) {
        s.stats().closed();
        s.stats().failed();
        LOG.debug("balancer {}: server {} refused a connection: {}", f.name(), s.name(), ar.cause().toString());
        if (attempt < f.config().retries() && !gone[0]) {
          Set<Server> t = tried == null ? new HashSet<>() : tried;
          t.add(s);
          connectTcp(f, client, gone, hash, t, attempt + 1);
        } else {
          f.clients().decrementAndGet();
          client.close();
        }
        return;
      }
      NetSocket up = ar.result();
      if (gone[0]) {
        up.close();
        s.stats().closed();
        f.clients().decrementAndGet();
        return;
      }
      boolean[] finished = {false};
      Runnable finish = () -> {
        if (!finished[0]) {
          finished[0] = true;
          s.stats().closed();
          f.clients().decrementAndGet();
        }
      };
      client.closeHandler(v -> finish.run());
      up.closeHandler(v -> finish.run());
      if (f.config().sendProxy() != BalancerConfig.SendProxy.NONE) { // written before the splice's first byte
        up.write(Buffer.buffer(ProxyHeader.encode(f.config().sendProxy(), client.remoteAddress(),
            client.localAddress())));
      }
      Splice.join(client, up, f.config().idleTimeout());
    });
  }

  /** Relays bytes both ways with back-pressure until either side closes; then closes the other and runs {@code done}. */
  private static void splice(NetSocket a, NetSocket b, boolean aGone, Runnable done) {
    boolean[] finished = {false};
    Runnable finish = () -> {
      if (!finished[0]) {
        finished[0] = true;
        a.close();
        b.close();
        done.run();
      }
    };
    if (aGone) {
      finish.run();
      return;
    }
    pump(a, b);
    pump(b, a);
    a.closeHandler(v -> finish.run());
    b.closeHandler(v -> finish.run());
    a.exceptionHandler(e -> finish.run());
    b.exceptionHandler(e -> finish.run());
    a.resume();
    b.resume();
  }

  private static void pump(NetSocket from, NetSocket to) {
    from.handler(buf -> {
      to.write(buf);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    });
    from.endHandler(v -> to.end());
  }

  private NetClient netClient(BalancerConfig.Frontend f) {
    return netClients.computeIfAbsent(ClientKey.of(f), k -> vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) k.connectTimeout().toMillis()).setTcpNoDelay(true)));
  }

  // ---- http ----

  private Future<Listener> bindHttp(BalancerConfig.Frontend f) {
    HostPort listen = f.listen();
    return vertx.createHttpServer(new HttpServerOptions().setHost(listen.host()).setPort(listen.port())
            .setTcpNoDelay(true).setHandle100ContinueAutomatically(true).setDecompressionSupported(false)
            .setHttp2ClearTextEnabled(false)
            .setMaxInitialLineLength(f.maxRequestLine() * 2 + 64).setMaxHeaderSize(f.maxHeaderBytes() * 2 + 64)
            .setIdleTimeout((int) f.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS))
        .connectionHandler(conn -> {
          Frontend now = settings().frontend(listen);
          if (now == null || !admit(now)) {
            conn.close();
            return;
          }
          BalancerConfig.Frontend c = now.config();
          conn.closeHandler(v -> now.clients().decrementAndGet());
          // The strict framing check of the proxy: nothing smuggled passes the balancer either.
          RequestGuard.install(conn, new RequestFraming.Limits(c.maxRequestLine(), c.maxHeaderBytes(), c.maxHeaders()),
              // No body rate here: the proxies behind enforce theirs, and a held-back body must not be cut twice.
              c.headerTimeout(), java.time.Duration.ZERO, 1, r -> conn.close());
        })
        .invalidRequestHandler(this::invalid)
        .requestHandler(req -> onHttp(listen, req))
        .listen()
        .map(Listener::of);
  }

  private void invalid(HttpServerRequest req) {
    RequestGuard.Refusal r = RequestGuard.refusal(req.connection());
    int status = r != null ? r.status() : 400;
    String reason = r != null ? r.reason() : req.decoderResult().cause() == null ? "malformed request"
        : req.decoderResult().cause().getMessage();
    page(req, status, status == 408 ? "Request timeout" : "Bad request", "The request was refused: " + reason + ".",
        true);
  }

  private void onHttp(HostPort listen, HttpServerRequest req) {
    Frontend f = settings().frontend(listen);
    if (f == null) {
      page(req, 503, "Service unavailable", "This frontend is being removed.", true);
      return;
    }
    if (!f.allows(req.remoteAddress())) { // per request: a commit may change allowedClients under a kept connection
      refuse(f, req.remoteAddress());
      page(req, 403, "Access denied", "This proxy does not serve your network.", true);
      return;
    }
    req.pause();
    int hash = Frontend.clientHash(req.remoteAddress() == null ? null : req.remoteAddress().hostAddress());
    forward(f, req, hash, null, 0);
  }

  private void forward(Frontend f, HttpServerRequest req, int hash, Set<Server> tried, int attempt) {
    Server s = f.open(hash, tried);
    if (s == null) {
      LOG.warn("balancer {}: no server available for {}{}", f.name(), req.uri(),
          tried == null ? "" : " (" + tried.size() + " failed)");
      page(req, 503, "Service unavailable", "No server is available to take the request; try again later.",
          hasBody(req));
      return;
    }
    boolean connect = req.method() == HttpMethod.CONNECT;
    RequestOptions options = new RequestOptions().setMethod(req.method()).setHost(s.address().host())
        .setPort(s.address().port()).setURI(req.uri());
    httpClient(f.config()).request(options).onComplete(ar -> {
      if (ar.failed()) {
        retry(f, req, hash, tried, attempt, s, ar.cause());
        return;
      }
      HttpClientRequest up = ar.result();
      if (req.response().closed()) {
        s.stats().closed();
        up.reset();
        return;
      }
      // The client may leave before the answer: the request to the server goes too (relay takes over the handler).
      req.response().closeHandler(v -> up.reset());
      copyHeaders(req.headers(), up.headers());
      if (f.config().xForwardedFor() && req.remoteAddress() != null) {
        String prior = req.headers().get("X-Forwarded-For");
        up.headers().set("X-Forwarded-For", (prior == null ? "" : prior + ", ") + req.remoteAddress().hostAddress());
      }
      Future<HttpClientResponse> sent;
      boolean body = hasBody(req);
      if (connect) {
        sent = up.connect();
      } else if (body) {
        if (!req.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
          up.setChunked(true);
        }
        sent = up.send(req);
      } else {
        req.resume(); // nothing to stream: a request left paused holds back the connection's next one
        sent = up.send();
      }
      sent.onComplete(res -> {
        if (res.failed()) {
          if (!body && safe(req.method()) && !req.response().headWritten()) {
            // A safe method without body: sending it again cannot do anything twice (a stale pooled connection, a
            // server killed mid-request). Anything else may have been processed: 502.
            retry(f, req, hash, tried, attempt, s, res.cause());
          } else {
            s.stats().failed();
            s.stats().closed();
            upstreamFailed(req, s, res.cause());
          }
          return;
        }
        if (connect) {
          tunnel(req, res.result(), s);
        } else {
          relay(req, res.result(), s);
        }
      });
    });
  }

  /** A server failed a request before any of it was answered: another server gets it, up to the frontend's retries. */
  private void retry(Frontend f, HttpServerRequest req, int hash, Set<Server> tried, int attempt, Server s,
      Throwable cause) {
    s.stats().closed();
    s.stats().failed();
    LOG.debug("balancer {}: server {} failed {}: {}", f.name(), s.name(), req.uri(), cause.toString());
    if (req.response().closed()) {
      return;
    }
    if (attempt < f.config().retries()) {
      Set<Server> t = tried == null ? new HashSet<>() : tried;
      t.add(s);
      forward(f, req, hash, t, attempt + 1);
    } else {
      upstreamFailed(req, s, cause);
    }
  }

  private void upstreamFailed(HttpServerRequest req, Server s, Throwable cause) {
    if (req.response().closed()) {
      return; // the client is gone
    }
    if (req.response().headWritten()) {
      req.connection().close();
      return;
    }
    page(req, 502, "Bad gateway", "The server " + s.name() + " could not be reached.", true);
  }

  private void relay(HttpServerRequest req, HttpClientResponse res, Server s) {
    HttpServerResponse out = req.response();
    if (out.closed()) {
      s.stats().closed(); // the client left while the server answered
      res.request().reset();
      return;
    }
    out.setStatusCode(res.statusCode());
    out.setStatusMessage(res.statusMessage());
    copyHeaders(res.headers(), out.headers());
    int status = res.statusCode();
    boolean noBody = req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    boolean[] done = {false};
    Runnable finish = () -> {
      if (!done[0]) {
        done[0] = true;
        s.stats().closed();
      }
    };
    if (noBody) {
      res.body().onComplete(x -> {
        finish.run();
        out.end();
      });
      return;
    }
    long length = contentLength(res.headers().get(HttpHeaders.CONTENT_LENGTH));
    if (length < 0) {
      out.setChunked(true);
    }
    out.closeHandler(v -> {
      if (!out.ended()) {
        finish.run();
        res.request().reset();
      }
    });
    long[] received = {0};
    res.handler(b -> {
      if (out.ended() || out.closed()) {
        return;
      }
      received[0] += b.length();
      if (received[0] == length) {
        out.end(b); // the whole body is in: head, body and end in one write to the client, not two
        return;
      }
      out.write(b);
      if (out.writeQueueFull()) {
        res.pause();
        out.drainHandler(v -> res.resume());
      }
    });
    res.exceptionHandler(e -> {
      finish.run();
      s.stats().failed();
      if (!out.ended()) {
        req.connection().close();
      }
    });
    res.endHandler(v -> {
      finish.run();
      if (!out.ended() && !out.closed()) {
        out.end();
      }
    });
  }

  /** CONNECT: the server's 200 opens a tunnel between the client and it; any other answer is relayed. */
  private void tunnel(HttpServerRequest req, HttpClientResponse res, Server s) {
    if (res.statusCode() != 200) {
      relay(req, res, s);
      return;
    }
    NetSocket up = res.netSocket();
    up.pause();
    req.toNetSocket().onComplete(ar -> {
      if (ar.failed()) {
        up.close();
        s.stats().closed();
        return;
      }
      NetSocket client = ar.result();
      client.pause();
      splice(client, up, false, () -> s.stats().closed());
    });
  }

  /** A Content-Length's value, or -1 if absent or not a plain number (the decoder has checked it already). */
  private static long contentLength(String v) {
    if (v == null || v.isEmpty() || v.length() > 18) {
      return -1;
    }
    long n = 0;
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }

  private static boolean safe(HttpMethod m) {
    return m == HttpMethod.GET || m == HttpMethod.HEAD || m == HttpMethod.OPTIONS || m == HttpMethod.TRACE;
  }

  private static boolean hasBody(HttpServerRequest req) {
    return req.headers().contains(HttpHeaders.CONTENT_LENGTH) || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  /** Copies the headers, less those that belong to one connection (the balancer runs its own on each side). */
  private static void copyHeaders(MultiMap from, MultiMap to) {
    io.portcullis.daemon.proxy.ProxyVerticle.copyHeaders(from, to, BalancerVerticle::connectionHeader);
  }

  /** Connection management, hop by hop: Proxy-Authorization is not among them, the proxy behind needs it. */
  private static boolean connectionHeader(String n) {
    return n.equalsIgnoreCase("connection") || n.equalsIgnoreCase("keep-alive")
        || n.equalsIgnoreCase("proxy-connection") || n.equalsIgnoreCase("transfer-encoding")
        || n.equalsIgnoreCase("te") || n.equalsIgnoreCase("upgrade");
  }

  private void page(HttpServerRequest req, int status, String title, String detail, boolean close) {
    if (req.response().headWritten()) {
      req.connection().close();
      return;
    }
    byte[] body = ErrorPage.render(status, title, detail, settings().node()).getBytes(StandardCharsets.UTF_8);
    HttpServerResponse r = req.response().setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    if (close) {
      r.putHeader(HttpHeaders.CONNECTION, "close");
    }
    req.resume();
    Future<Void> sent = r.end(Buffer.buffer(body));
    if (close) {
      sent.onComplete(v -> req.connection().close());
    }
  }

  // The last frontend's client: one identity check per request instead of a key made and hashed (this verticle runs
  // on one event loop, so no other thread sees these).
  private BalancerConfig.Frontend lastFrontend;
  private HttpClient lastClient;

  private HttpClient httpClient(BalancerConfig.Frontend f) {
    if (f != lastFrontend) {
      lastClient = pooledClient(f);
      lastFrontend = f;
    }
    return lastClient;
  }

  private HttpClient pooledClient(BalancerConfig.Frontend f) {
    return httpClients.computeIfAbsent(ClientKey.of(f), k -> vertx.createHttpClient(new HttpClientOptions()
            .setConnectTimeout((int) k.connectTimeout().toMillis()).setTcpNoDelay(true).setKeepAlive(true)
            .setDecompressionSupported(false).setMaxInitialLineLength(65536).setMaxHeaderSize(65536)
            .setIdleTimeout((int) k.idleTimeout().toMillis()).setIdleTimeoutUnit(TimeUnit.MILLISECONDS),
        new PoolOptions().setHttp1MaxSize(k.poolSize()).setMaxWaitQueueSize(Math.max(1024, k.poolSize() * 8))));
  }
}
