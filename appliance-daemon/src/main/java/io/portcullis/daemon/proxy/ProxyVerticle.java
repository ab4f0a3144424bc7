package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.pages.ErrorPage;
import io.portcullis.daemon.rules.CidrMatcher;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientAgent;
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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward proxy (RFC 9110/9112): absolute-form {@code http://} requests relayed to the origin over pooled
 * keep-alive connections, bodies streamed with back-pressure both ways, hop-by-hop headers stripped, {@code Via}
 * added; CONNECT tunnels to {@code proxy.connectPorts} only; clients outside {@code proxy.allowedClients} get 403.
 * The ICAP client (REQMOD/RESPMOD through the rules) is not in this build yet: traffic passes unscanned.
 */
public final class ProxyVerticle extends ServiceVerticle<ProxyConfig> {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
      "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate");
  private final String node;
  private HttpClientAgent client;
  private NetClient tunnels;

  public ProxyVerticle(ProxyConfig initial, String node) {
    super(initial);
    this.node = node;
  }

  @Override
  protected HostPort address(ProxyConfig settings) {
    return settings.listen();
  }

  @Override
  public Future<?> start() {
    ProxyConfig s = settings();
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
            .setConnectTimeout((int) s.connectTimeout().toMillis()).setDecompressionSupported(false)
            .setMaxInitialLineLength(65536).setMaxHeaderSize(65536),
        new PoolOptions().setHttp1MaxSize(s.maxConnectionsPerOrigin()).setMaxWaitQueueSize(s.maxWaitQueue()));
    tunnels = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) s.connectTimeout().toMillis())
        .setTcpNoDelay(true));
    return super.start();
  }

  @Override
  protected Future<Listener> bind(HostPort address) {
    ProxyConfig s = settings();
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port())
            .setTcpNoDelay(true).setHandle100ContinueAutomatically(true).setDecompressionSupported(false)
            .setMaxInitialLineLength(s.maxRequestLine()).setMaxHeaderSize(s.maxHeaderBytes())
            .setIdleTimeout((int) s.idleTimeout().toSeconds()))
        .requestHandler(this::handle)
        .listen()
        .map(Listener::of);
  }

  private void handle(HttpServerRequest req) {
    ProxyConfig s = settings();
    if (!allowed(req, s)) {
      error(req, 403, "Access denied", "This proxy does not serve your network.", true);
      return;
    }
    if (req.method() == HttpMethod.CONNECT) {
      tunnel(req, s);
      return;
    }
    String uri = req.uri();
    if (!uri.regionMatches(true, 0, "http://", 0, 7)) {
      error(req, 400, "Bad request", uri.regionMatches(true, 0, "https://", 0, 8)
          ? "https:// URLs go through CONNECT." : "This is a proxy: the request line needs an absolute http:// URL.",
          true);
      return;
    }
    int slash = uri.indexOf('/', 7);
    String authority = slash < 0 ? uri.substring(7) : uri.substring(7, slash);
    String path = slash < 0 ? "/" : uri.substring(slash);
    HostPort target = origin(authority, 80);
    if (target == null) {
      error(req, 400, "Bad request", "The URL has no valid host.", true);
      return;
    }
    forward(req, s, target, authority, path);
  }

  private static boolean allowed(HttpServerRequest req, ProxyConfig s) {
    byte[] client = CidrMatcher.literal(req.remoteAddress() == null ? null : req.remoteAddress().hostAddress());
    for (Cidr c : s.allowedClients()) {
      if (new CidrMatcher(c).matches(client)) {
        return true;
      }
    }
    return false;
  }

  /** host[:port] (IPv6 in brackets) with {@code defaultPort}, or null. */
  static HostPort origin(String authority, int defaultPort) {
    String a = authority;
    int at = a.lastIndexOf('@');
    if (at >= 0) {
      return null; // user info in a proxy URL: refused, as RFC 9110 4.2.4 advises
    }
    try {
      if (a.startsWith("[")) {
        int close = a.indexOf(']');
        String port = a.substring(close + 1);
        return HostPort.parse(a.substring(0, close + 1) + (port.isEmpty() ? ":" + defaultPort : port));
      }
      return HostPort.parse(a.indexOf(':') >= 0 ? a : a + ":" + defaultPort);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void forward(HttpServerRequest req, ProxyConfig s, HostPort target, String authority, String path) {
    req.pause();
    RequestOptions options = new RequestOptions().setMethod(req.method()).setHost(target.host())
        .setPort(target.port()).setURI(path).setIdleTimeout(s.upstreamTimeout().toMillis());
    client.request(options).onComplete(ar -> {
      if (ar.failed()) {
        upstreamFailed(req, ar.cause(), target);
        return;
      }
      HttpClientRequest up = ar.result();
      copyHeaders(req.headers(), up.headers());
      up.headers().set(HttpHeaders.HOST, authority); // the absolute URI's authority wins over Host (RFC 9112 3.2.2)
      up.headers().add("Via", via(req.version().alpnName()));
      if (s.xForwardedFor() && req.remoteAddress() != null) {
        String prior = req.headers().get("X-Forwarded-For");
        up.headers().set("X-Forwarded-For", (prior == null ? "" : prior + ", ") + req.remoteAddress().hostAddress());
      }
      boolean hasBody = req.headers().contains(HttpHeaders.CONTENT_LENGTH)
          || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
      Future<HttpClientResponse> sent;
      if (hasBody) {
        if (!req.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
          up.setChunked(true);
        }
        sent = up.send(req);
      } else {
        req.resume();
        sent = up.send();
      }
      sent.onComplete(res -> {
        if (res.failed()) {
          upstreamFailed(req, res.cause(), target);
          return;
        }
        relay(req, res.result());
      });
    });
  }

  private void relay(HttpServerRequest req, HttpClientResponse res) {
    HttpServerResponse out = req.response();
    out.setStatusCode(res.statusCode());
    out.setStatusMessage(res.statusMessage());
    copyHeaders(res.headers(), out.headers());
    out.headers().add("Via", via(res.version().alpnName()));
    int status = res.statusCode();
    boolean noBody = req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    if (noBody) {
      res.body().onComplete(x -> out.end());
      return;
    }
    if (!res.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
      out.setChunked(true);
    }
    res.pipeTo(out).onFailure(e -> {
      LOG.debug("relay of {} cut short: {}", req.uri(), e.toString());
      req.connection().close();
    });
  }

  private void tunnel(HttpServerRequest req, ProxyConfig s) {
    HostPort target = origin(req.uri(), -1);
    if (target == null || target.port() <= 0) {
      error(req, 400, "Bad request", "CONNECT needs host:port.", true);
      return;
    }
    if (!s.connectPorts().contains(target.port())) {
      error(req, 403, "Access denied", "Tunnels to port " + target.port() + " are not allowed.", true);
      return;
    }
    req.pause();
    tunnels.connect(target.port(), target.host()).onComplete(ar -> {
      if (ar.failed()) {
        req.resume();
        upstreamFailed(req, ar.cause(), target);
        return;
      }
      var upstream = ar.result();
      req.toNetSocket().onComplete(sock -> {
        if (sock.failed()) {
          upstream.close();
          return;
        }
        var client = sock.result();
        client.pipeTo(upstream);
        upstream.pipeTo(client);
      });
    });
  }

  private void upstreamFailed(HttpServerRequest req, Throwable cause, HostPort target) {
    boolean timeout = cause instanceof TimeoutException || String.valueOf(cause.getMessage()).contains("timeout")
        || String.valueOf(cause.getMessage()).contains("timed out");
    LOG.debug("upstream {} failed: {}", target, cause.toString());
    if (req.response().headWritten()) {
      req.connection().close();
      return;
    }
    if (timeout) {
      error(req, 504, "Gateway timeout", "The web server " + target + " did not answer in time.", false);
    } else {
      error(req, 502, "Bad gateway", "The web server " + target + " could not be reached.", false);
    }
  }

  private void error(HttpServerRequest req, int status, String title, String detail, boolean close) {
    byte[] body = ErrorPage.render(status, title, detail, node).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    HttpServerResponse r = req.response().setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    if (close) {
      r.putHeader(HttpHeaders.CONNECTION, "close");
    }
    r.end(io.vertx.core.buffer.Buffer.buffer(body));
    if (close) {
      r.endHandler(v -> req.connection().close());
    }
  }

  private String via(String version) {
    return ("http/1.0".equals(version) ? "1.0 " : "1.1 ") + node + " (Portcullis)";
  }

  /** Copies end-to-end headers: drops hop-by-hop ones and those named in Connection (RFC 9110 7.6.1). */
  static void copyHeaders(MultiMap from, MultiMap to) {
    Set<String> named = new HashSet<>();
    for (String c : from.getAll(HttpHeaders.CONNECTION)) {
      for (String token : c.split(",")) {
        named.add(token.strip().toLowerCase(Locale.ROOT));
      }
    }
    List<Map.Entry<String, String>> keep = new ArrayList<>();
    for (Map.Entry<String, String> e : from) {
      String n = e.getKey().toLowerCase(Locale.ROOT);
      if (!HOP_BY_HOP.contains(n) && !named.contains(n)) {
        keep.add(e);
      }
    }
    for (Map.Entry<String, String> e : keep) {
      to.add(e.getKey(), e.getValue());
    }
  }
}
