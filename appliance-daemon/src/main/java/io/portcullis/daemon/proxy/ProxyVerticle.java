package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.http1.Http1Framing;
import io.portcullis.daemon.proxy.impl.Exchanges;
import io.portcullis.daemon.rules.CidrMatcher;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward proxy's listener (RFC 9110/9112): it binds, admits connections within proxy.maxConnections and
 * proxy.maxConnectionsPerClient, puts the framing guard in front of each, and hands every request to the exchange
 * pipeline ({@link io.portcullis.daemon.proxy.impl.Exchanges}), which does the rest.
 */
public final class ProxyVerticle extends ServiceVerticle<ProxySettings> {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);
  private Exchanges exchanges;

  public ProxyVerticle(ProxySettings initial) {
    super(initial);
  }

  @Override
  protected HostPort address(ProxySettings settings) {
    return settings.proxy().listen();
  }

  @Override
  public Future<?> start() {
    exchanges = new Exchanges(vertx, settings().proxy());
    return super.start();
  }

  @Override
  protected Future<Listener> bind(HostPort address, ProxySettings next) {
    ProxyConfig s = next.proxy();
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port())
            .setTcpNoDelay(true).setHandle100ContinueAutomatically(true).setDecompressionSupported(false)
            .setHttp2ClearTextEnabled(false)
            // The guard enforces our limits first, with our pages; the decoder's own are only a backstop.
            .setMaxInitialLineLength(s.maxRequestLine() * 2 + 64).setMaxHeaderSize(s.maxHeaderBytes() * 2 + 64)
            .setIdleTimeout((int) s.idleTimeout().toSeconds()))
        .connectionHandler(conn -> {
          if (admit(conn)) {
            // The settings in effect now, not those the listener was bound with: a commit applies to new
            // connections at once.
            ProxyConfig live = settings().proxy();
            guard(conn, live);
          }
        })
        .invalidRequestHandler(this::invalid)
        .requestHandler(req -> exchanges.handle(req, settings()))
        .listen()
        .map(Listener::of);
  }

  /**
   * Counts the connection against proxy.maxConnections and proxy.maxConnectionsPerClient; over a limit it gets a 503
   * and a close before anything is read (false).
   */
  private boolean admit(io.vertx.core.http.HttpConnection conn) {
    ProxySettings s = settings();
    String client = conn.remoteAddress() == null ? "-" : conn.remoteAddress().hostAddress();
    byte[] address = CidrMatcher.literal(client);
    boolean unlimited = CidrMatcher.anyMatches(s.unlimitedClients(), address);
    String over = s.connections().open(client, s.proxy().maxConnections(),
        unlimited ? Integer.MAX_VALUE : s.proxy().maxConnectionsPerClient());
    io.netty.channel.Channel ch = ((io.vertx.core.net.impl.ConnectionBase) conn).channel();
    if (over != null) {
      LOG.debug("refused a connection from {}: {}", client, over);
      LingeringClose.discardInput(ch); // nothing of it is decoded, let alone proxied
      byte[] page = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
          + "Content-Length: " + (over.length() + 24) + "\r\n\r\ntoo many connections (" + over + ")\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      // From the head of the pipeline: raw bytes, past the HTTP encoder (which takes only HTTP objects).
      ch.pipeline().firstContext().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(page))
          .addListener(f -> LingeringClose.close(ch));
      return false;
    }
    // The channel's own close, once, whatever the connection becomes (a CONNECT tunnel, say).
    ch.closeFuture().addListener(f -> s.connections().close(client));
    return true;
  }

  /** Puts a {@link RequestGuard} in front of the connection's HTTP decoder. */
  private void guard(io.vertx.core.http.HttpConnection conn, ProxyConfig s) {
    io.netty.channel.Channel ch = ((io.vertx.core.net.impl.ConnectionBase) conn).channel();
    Http1Framing.Limits limits = Http1Framing.Limits.request(s.maxRequestLine(), s.maxHeaderBytes(), s.maxHeaders());
    if (!RequestGuard.install(conn, limits, s.headerTimeout(), s.bodyTimeout(), s.minBodyRate(),
        r -> Exchanges.bodyRefused(ch, r.status(), r.reason()))) {
      LOG.error("no HTTP/1.1 decoder on a proxy connection from {}: closed it", conn.remoteAddress());
    }
  }

  /** A request the guard or the decoder refused: our page with the status and reason, then close. */
  private void invalid(HttpServerRequest req) {
    RequestGuard.Refusal r = RequestGuard.refusal(req.connection());
    int status;
    String reason;
    if (r != null) {
      status = r.status();
      reason = r.reason();
    } else {
      Throwable cause = req.decoderResult().cause();
      status = cause instanceof io.netty.handler.codec.TooLongFrameException ? 431 : 400;
      reason = cause == null ? "malformed request" : cause.getMessage();
    }
    LOG.debug("refused a request from {}: {} {}", req.remoteAddress(), status, reason);
    exchanges.refuse(req, settings(), status, reason);
  }
}
