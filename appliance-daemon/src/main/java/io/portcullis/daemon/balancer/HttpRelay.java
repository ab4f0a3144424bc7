package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.http1.Http1Framing;
import io.portcullis.daemon.proxy.LingeringClose;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of an http frontend, relayed request by request below Vert.x, as HAProxy does it: each
 * request's framing is walked (strictly: nothing smuggled passes), its head rewritten ({@link Heads}), and the request
 * sent on a pooled keep-alive connection ({@link Pool}, {@link Upstream}) to the server the frontend's method picks;
 * the body, then the response, stream through as Netty buffers with back-pressure, never decoded or held whole. One
 * request at a time ({@link Exchange}): a pipelined one waits, read but held, until the response before it has ended.
 * A server that fails before answering is retried on another (a request without a body of a safe method even after it
 * was sent: a stale pooled connection). CONNECT's 2xx makes a tunnel. Everything runs on the client connection's event
 * loop, which is also its server connections' (the verticle's NetClient), so no state here is shared.
 */
final class HttpRelay extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(HttpRelay.class);
  /** Largest response head accepted from a server (a larger one: 502). */
  static final int MAX_RESPONSE_HEAD = 65536;

  /** What a relay needs of its verticle. */
  interface Env {
    /** The frontend on {@code listen} as the last commit configured it, or null (removed). */
    Frontend frontend(HostPort listen);

    /** The node's name, for error pages. */
    String node();

    /** Counts and logs a request from outside the frontend's allowedClients. */
    void refused(Frontend f, SocketAddress client);

    /** The connection pool to {@code s} on this event loop. */
    Pool pool(Server s, BalancerConfig.Frontend f);
  }

  private enum Phase { HEAD, CONNECTING, BODY, WAITING, TUNNEL, CLOSED }

  private final Env env;
  private final HostPort listen;
  private final Channel client;
  private final SocketAddress remote;
  private final String clientIp;
  private final int hash;
  private final Http1Framing framing;
  private final FramedStream requests;
  private final Heads heads = new Heads();
  private final Deadlines deadlines;
  private Phase phase = Phase.HEAD;
  private boolean processing;
  private ByteBuf in; // read from the client, not yet relayed
  private Upstream up; // the server connection of the request in flight
  private Exchange x = new Exchange(); // the request in flight, or the next one before its head is whole
  private boolean draining;
  private boolean inputShut; // the client half-closed: it sends nothing more, but still reads the answers

  private HttpRelay(Env env, HostPort listen, NetSocket socket, Frontend f) {
    this.env = env;
    this.listen = listen;
    this.client = channel(socket);
    this.remote = socket.remoteAddress();
    this.clientIp = remote == null ? null : remote.hostAddress();
    this.hash = Frontend.clientHash(clientIp);
    BalancerConfig.Frontend c = f.config();
    this.framing = new Http1Framing(Http1Framing.Mode.REQUEST, Http1Framing.Limits.request(c.maxRequestLine(),
        c.maxHeaderBytes(), c.maxHeaders())).stopAtBoundaries();
    this.requests = new FramedStream(framing);
    this.deadlines = new Deadlines(c.headerTimeout(), c.idleTimeout());
  }

  /** Relays {@code socket}, a new client connection of frontend {@code f}, from now on. */
  static void serve(Env env, HostPort listen, NetSocket socket, Frontend f) {
    HttpRelay r = new HttpRelay(env, listen, socket, f);
    ChannelHandlerContext vertx = ((NetSocketInternal) socket).channelHandlerContext();
    vertx.pipeline().addBefore(vertx.name(), "portcullisHttpRelay", r);
    // A client that shuts its sending side after its request (nc -N, scripts, some HTTP/1.0 tools) still gets the
    // answer, as from HAProxy: the end of its input is an event here, not the connection's close.
    r.client.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    Splice.levelTriggered(r.client);
    socket.shutdownHandler(v -> r.drain());
    r.deadlines.watch(r.client.eventLoop(), () -> r.phase != Phase.CLOSED && r.client.isActive(),
        () -> r.phase == Phase.HEAD && (r.requests.holding() || r.framing.inHead()), r::headLate, r::closeClient);
  }

  // ---- client side ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf b = (ByteBuf) msg;
    deadlines.activity();
    if (phase == Phase.TUNNEL) {
      up.channel.write(b, up.channel.voidPromise());
      return;
    }
    if (phase == Phase.CLOSED) {
      b.release();
      return;
    }
    if (in == null) {
      in = b;
    } else { // held bytes (a pipelined request) and new ones: one buffer, for the framing's walk
      ByteBuf both = ctx.alloc().buffer(in.readableBytes() + b.readableBytes());
      both.writeBytes(in).writeBytes(b);
      in.release();
      b.release();
      in = both;
    }
    process();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (up != null) {
      up.channel.flush();
      if (!up.channel.isWritable() && (phase == Phase.BODY || phase == Phase.TUNNEL)) {
        client.config().setAutoRead(false); // until the server takes more (upstreamWritable)
      }
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (client.isWritable() && up != null) {
      up.channel.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    phase = Phase.CLOSED;
    releaseBuffers();
    dropUpstream(); // mid-exchange: the server connection cannot be reused
    x.done(false);
    deadlines.cancel();
    ctx.fireChannelInactive();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof ChannelInputShutdownEvent) {
      inputShut = true;
      if (phase == Phase.CLOSED) { // closing (a lingering close reads to this end): once what was written is out
        client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      } else if (phase == Phase.TUNNEL && up != null && up.channel instanceof DuplexChannel d) {
        up.channel.flush();
        d.shutdownOutput(); // the half-close goes on to the server
      } else {
        closeIfNothingMoreComes();
      }
      return; // ours: Vert.x's handler would take it for nothing it knows
    }
    ctx.fireUserEventTriggered(evt);
  }

  /**
   * After a half-close, once what was received is walked: in HEAD nothing is left but part of a head, in BODY the
   * rest of the body never comes, so the connection ends; a request connecting or waiting for its answer gets it
   * first (the next walk decides again, pipelined requests included).
   */
  private void closeIfNothingMoreComes() {
    if (inputShut && !processing && (phase == Phase.HEAD || phase == Phase.BODY && (in == null || !in.isReadable()))) {
      closeClient();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // a reset or the like (channelInactive cleans up)
  }

  /** Walks what the client sent as far as the exchange allows: heads start requests, bodies go to the server. */
  private void process() {
    walk();
    closeIfNothingMoreComes();
  }

  private void walk() {
    processing = true;
    try {
      while (in != null) {
        if (!in.isReadable() || phase == Phase.CLOSED) {
          in.release();
          in = null;
          return;
        }
        if (phase == Phase.HEAD) {
          deadlines.headBegins();
          ByteBuf h = requests.next(in, true, client.alloc());
          if (framing.failed()) {
            LOG.debug("balancer: refused a request from {}: {}", remote, framing.reason());
            page(framing.status(), framing.status() == 408 ? "Request timeout" : "Bad request",
                "The request was refused: " + framing.reason() + ".", true);
            return;
          }
          if (h == null) {
            continue;
          }
          x.requestDone = (framing.event() & Http1Framing.MESSAGE) != 0 || framing.connect();
          start(h);
        } else if (phase == Phase.BODY) {
          ByteBuf piece = requests.next(in, false, client.alloc());
          if (framing.failed()) { // the head went on: nothing to answer, the server has half a request
            LOG.debug("balancer: bad request body from {}: {}", remote, framing.reason());
            closeClient();
            return;
          }
          up.channel.write(piece, up.channel.voidPromise());
          if ((framing.event() & Http1Framing.MESSAGE) != 0) {
            x.requestDone = true;
            phase = Phase.WAITING;
          }
        } else { // CONNECTING, WAITING: what follows waits for this exchange (or the tunnel)
          client.config().setAutoRead(false);
          return;
        }
      }
    } finally {
      processing = false;
    }
  }

  /** A whole request head {@code h} (its body, if any, still to come): check the client, rewrite, dispatch. */
  private void start(ByteBuf h) {
    String method = Heads.method(h);
    x.request(method, framing);
    Frontend f = env.frontend(listen);
    if (f == null) {
      h.release();
      page(503, "Service unavailable", "This frontend is being removed.", true);
      return;
    }
    if (!f.allows(remote)) { // per request: a commit may change allowedClients under a kept connection
      h.release();
      env.refused(f, remote);
      page(403, "Access denied", "This proxy does not serve your network.", true);
      return;
    }
    x.frontend = f;
    x.sentHead = heads.request(h, f.config().xForwardedFor() ? clientIp : null, client.alloc());
    x.connection(heads, draining);
    phase = Phase.CONNECTING;
    dispatch();
  }

  /** Picks a server for the request and asks its pool for a connection (attached or connectFailed follows). */
  private void dispatch() {
    Server s = x.pick(hash);
    if (s == null) {
      LOG.warn("balancer {}: no server available{}", x.frontend.name(),
          x.failedServers() == 0 ? "" : " (" + x.failedServers() + " failed)");
      x.releaseSent();
      page(503, "Service unavailable", "No server is available to take the request; try again later.",
          !x.requestDone);
      return;
    }
    env.pool(s, x.frontend.config()).acquire(this);
  }

  /** The pool could not give a connection to the server: another server, up to the frontend's retries, or 502. */
  void connectFailed(Throwable cause) {
    Server s = x.server();
    x.done(x.counted());
    if (phase == Phase.CLOSED) {
      return;
    }
    LOG.debug("balancer {}: server {} refused a connection: {}", x.frontend.name(), s.name(), cause.toString());
    retryOrFail(s, "could not be reached");
  }

  /** Sends the request again, to another server if there is one; else a 502 page saying the server {@code what}. */
  private void retryOrFail(Server s, String what) {
    if (x.retry()) {
      phase = Phase.CONNECTING;
      dispatch();
    } else {
      x.releaseSent();
      page(502, "Bad gateway", "The server " + s.name() + " " + what + ".", true);
    }
  }

  /** True once the client connection is closed or closing. */
  boolean closed() {
    return phase == Phase.CLOSED;
  }

  /** A connection to the server for this request: the head goes, then the body as it comes. */
  void attached(Upstream u) {
    if (phase == Phase.CLOSED) { // the client left while it waited
      x.done(false);
      u.pool.release(u);
      return;
    }
    up = u;
    u.owner = this;
    u.expect(x.headMethod, x.connect);
    // Kept for a resend while no response byte came: a pooled connection may have been closed by the server.
    ByteBuf h = x.retryable ? x.sentHead.retainedDuplicate() : x.sentHead;
    if (!x.retryable) {
      x.sentHead = null;
    }
    u.channel.write(h, u.channel.voidPromise());
    if (x.requestDone) {
      phase = Phase.WAITING;
    } else {
      phase = Phase.BODY;
      client.config().setAutoRead(true);
    }
    if (!processing) {
      process();
      if (up != null) {
        up.channel.flush();
      }
    } // else the read under way goes on with the body, and its readComplete flushes
  }

  // ---- server side ----

  /** Bytes from the server. */
  void onResponse(ByteBuf b) {
    Upstream u = up;
    Http1Framing response = u.responses.framing;
    deadlines.activity();
    if (phase == Phase.TUNNEL) {
      client.write(b, client.voidPromise());
      return;
    }
    if (!x.responseStarted) {
      x.responseStarted = true;
      x.releaseSent();
    }
    try {
      while (b.isReadable() && phase != Phase.CLOSED) {
        ByteBuf piece = u.responses.next(b, !x.headSent, client.alloc());
        if (response.failed()) {
          badResponse(response.reason());
          return;
        }
        if (piece == null) {
          continue;
        }
        int event = response.event();
        if (!x.headSent) {
          ByteBuf h = piece;
          if (response.interim()) { // 100 Continue, 103: to the client as it is; the final response follows
            client.write(h, client.voidPromise());
            continue;
          }
          finalHead(h);
          if (phase == Phase.TUNNEL) {
            if (b.isReadable()) {
              client.write(b.readRetainedSlice(b.readableBytes()), client.voidPromise());
            }
            client.flush();
            return;
          }
        } else {
          client.write(piece, client.voidPromise());
        }
        if ((event & Http1Framing.MESSAGE) != 0) {
          responseEnd(b.isReadable()); // bytes after the response: the connection is not clean
          return;
        }
      }
    } finally {
      b.release();
    }
  }

  /** The final response head: to the client with its Connection as this relay decides. */
  private void finalHead(ByteBuf h) {
    x.headSent = true;
    if (up.responses.framing.tunnel()) {
      client.write(heads.response(h, null, client.alloc()), client.voidPromise());
      startTunnel();
      return;
    }
    x.closeAfter = x.closeAfter(up.responses.framing, draining);
    String connection = x.closeAfter ? "close" : x.keepAlive10 ? "keep-alive" : null;
    client.write(heads.response(h, connection, client.alloc()), client.voidPromise());
  }

  private void startTunnel() {
    phase = Phase.TUNNEL;
    up.pool.detach(up); // a tunnel holds no pooled connection's place
    if (in != null) {
      if (in.isReadable()) {
        up.channel.write(in, up.channel.voidPromise());
      } else {
        in.release();
      }
      in = null;
    }
    up.channel.flush();
    client.config().setAutoRead(true);
  }

  /** The response has ended: the server connection goes back to its pool if clean, the client's next request runs. */
  private void responseEnd(boolean dirty) {
    Upstream u = up;
    up = null;
    u.owner = null;
    x.done(false);
    client.flush();
    if (x.reusable(u.responses.framing, dirty)) {
      u.pool.release(u);
    } else {
      u.channel.close();
    }
    if (x.closeAfter || !x.requestDone || draining) {
      closeClient();
      return;
    }
    nextRequest();
  }

  /** Readies the connection for the client's next request and walks what it has sent of it already. */
  private void nextRequest() {
    phase = Phase.HEAD;
    deadlines.nextHead();
    x = new Exchange();
    client.config().setAutoRead(true);
    if (!processing) {
      process();
      if (up != null) {
        up.channel.flush();
      }
    }
  }

  /** A response whose framing is broken: 502 if none of it reached the client, else the client connection ends. */
  private void badResponse(String reason) {
    Server s = x.server();
    LOG.warn("balancer {}: server {} sent a bad response: {}", x.frontend.name(), s.name(), reason);
    dropUpstream();
    x.done(true);
    if (x.headSent) {
      closeClient();
    } else {
      page(502, "Bad gateway", "The server " + s.name() + " sent a response that cannot be relayed.", true);
    }
  }

  void upstreamReadComplete() {
    client.flush();
    if (!client.isWritable() && up != null) {
      up.channel.config().setAutoRead(false); // until the client takes more (channelWritabilityChanged)
    }
  }

  void upstreamWritable() {
    if (up != null && up.channel.isWritable() && (phase == Phase.BODY || phase == Phase.TUNNEL)) {
      client.config().setAutoRead(true);
    }
  }

  /** The server connection closed under this relay. */
  void upstreamClosed() {
    Upstream u = up;
    up = null;
    u.owner = null;
    if (phase == Phase.CLOSED) {
      return;
    }
    if (phase == Phase.TUNNEL || (x.headSent && u.responses.framing.closeDelimited())) { // the close ends it
      u.responses.framing.closed();
      x.done(false);
      closeClient();
      return;
    }
    Server s = x.server();
    x.done(true);
    LOG.debug("balancer {}: server {} closed during a request", x.frontend.name(), s.name());
    if (!x.responseStarted && x.sentHead != null) { // nothing answered, nothing done twice: another connection
      retryOrFail(s, "closed the connection without answering");
    } else if (!x.headSent) {
      x.releaseSent();
      page(502, "Bad gateway", "The server " + s.name() + " closed the connection without answering.", true);
    } else {
      closeClient();
    }
  }

  // ---- endings ----

  /** An answer of the balancer's own: an HTML page; the connection then closes, or takes the next request. */
  private void page(int status, String title, String detail, boolean close) {
    if (x.headSent) {
      closeClient();
      return;
    }
    boolean last = close || x.clientClose || draining || !x.requestDone && phase != Phase.HEAD;
    ByteBuf out = RelayPage.render(status, title, detail, env.node(), last, x.headMethod, client.alloc());
    dropUpstream();
    x.headSent = true;
    if (last) { // what the client sent after its request must not turn the close into a reset that eats the page
      closeClient(false);
      client.writeAndFlush(out).addListener(f -> LingeringClose.close(client));
      return;
    }
    client.writeAndFlush(out, client.voidPromise());
    nextRequest();
  }

  /** Lets go of the server connection under way, if any, and closes it (it is mid-exchange: not reusable). */
  private void dropUpstream() {
    if (up != null) {
      Upstream u = up;
      up = null;
      u.owner = null;
      u.channel.close();
    }
  }

  /** Closes the client connection once what was written to it is out. */
  private void closeClient() {
    closeClient(true);
  }

  /** Ends the exchange; {@code now}: the client connection closes once what was written to it is out. */
  private void closeClient(boolean now) {
    phase = Phase.CLOSED;
    releaseBuffers();
    dropUpstream();
    x.done(false);
    if (now) {
      client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** The listener shuts down: an idle connection closes now, a busy one after its response. */
  private void drain() {
    draining = true;
    if (phase == Phase.HEAD && !requests.holding() && (in == null || !in.isReadable())) {
      closeClient();
    }
  }

  private void releaseBuffers() {
    x.releaseSent();
    if (in != null && in.refCnt() > 0) {
      in.release();
    }
    in = null;
    requests.release();
  }

  /** No whole request head came within the header timeout. */
  private void headLate() {
    LOG.debug("balancer: no whole request head from {} within {} ms", remote, deadlines.headerMillis());
    page(408, "Request timeout", "The request was refused: its head did not come in time.", true);
  }

  /** The Netty channel under a Vert.x socket. */
  static Channel channel(NetSocket s) {
    return ((NetSocketInternal) s).channelHandlerContext().channel();
  }
}
