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
import io.portcullis.daemon.pages.ErrorPage;
import io.portcullis.daemon.proxy.LingeringClose;
import io.vertx.core.Future;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection of an http frontend, relayed request by request below Vert.x, as HAProxy does it: each
 * request's framing is walked ({@link Http1Framing}, strict: nothing smuggled passes), its head rewritten
 * ({@link Heads}: the connection-scoped headers go, X-Forwarded-For if asked), and the request sent on a pooled
 * keep-alive connection to the server the frontend's method picks; the body, then the response (its
 * RESPONSE walk), stream through as Netty buffers with back-pressure, never decoded or buffered whole. One request
 * at a time per client connection: a pipelined one waits, read but held, until the response before it has ended. A
 * server that fails before answering is retried on another (a request without a body of a safe method even after it
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
  private final Http1Framing response = new Http1Framing(Http1Framing.Mode.RESPONSE,
      Http1Framing.Limits.response(MAX_RESPONSE_HEAD));
  private final Heads heads = new Heads();
  private final long headerTimeout;
  private final long idleTimeout;
  private Phase phase = Phase.HEAD;
  private boolean processing;
  private ByteBuf in; // read from the client, not yet relayed
  private ByteBuf head; // a request head begun in an earlier read
  private ByteBuf responseHead; // a response head begun in an earlier read
  private ByteBuf sentHead; // the rewritten head, kept while the request may be sent again
  // The request in flight.
  private Frontend frontend;
  private Server server;
  private Set<Server> tried;
  private int attempt;
  private boolean counted; // the request is counted on server (active): uncounted exactly once
  private Upstream up;
  private boolean http11;
  private boolean headMethod;
  private boolean connect;
  private boolean retryable;
  private boolean requestDone;
  private boolean clientClose; // the client's Connection (or its version) says this is its last request
  private boolean keepAlive10;
  private boolean responseStarted;
  private boolean headSent;
  private boolean closeAfter;
  private boolean draining;
  private boolean inputShut; // the client half-closed: it sends nothing more, but still reads the answers
  private boolean headStarted;
  private long headStart;
  private long lastActivity = System.nanoTime();
  private ScheduledFuture<?> timer;

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
    this.headerTimeout = c.headerTimeout().toNanos();
    this.idleTimeout = c.idleTimeout().toNanos();
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
    r.watch(Math.min(r.headerTimeout, r.idleTimeout));
  }

  // ---- client side ----

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    ByteBuf b = (ByteBuf) msg;
    lastActivity = System.nanoTime();
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
    serverDone(false);
    if (timer != null) {
      timer.cancel(false);
    }
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
          if (!headStarted) {
            headStarted = true;
            headStart = System.nanoTime();
          }
          int n = feed(in);
          if (framing.failed()) {
            LOG.debug("balancer: refused a request from {}: {}", remote, framing.reason());
            page(framing.status(), framing.status() == 408 ? "Request timeout" : "Bad request",
                "The request was refused: " + framing.reason() + ".", true);
            return;
          }
          int event = framing.event();
          if ((event & Http1Framing.HEAD) == 0) { // the head goes on in a later read
            if (head == null) {
              head = client.alloc().buffer(Math.max(256, n));
            }
            head.writeBytes(in, n);
            continue;
          }
          ByteBuf h;
          if (head == null) {
            h = in.readRetainedSlice(n);
          } else {
            h = head.writeBytes(in, n);
            head = null;
          }
          requestDone = (event & Http1Framing.MESSAGE) != 0 || framing.connect();
          start(h);
        } else if (phase == Phase.BODY) {
          int n = feed(in);
          if (framing.failed()) { // the head went on: nothing to answer, the server has half a request
            LOG.debug("balancer: bad request body from {}: {}", remote, framing.reason());
            closeClient();
            return;
          }
          up.channel.write(in.readRetainedSlice(n), up.channel.voidPromise());
          if ((framing.event() & Http1Framing.MESSAGE) != 0) {
            requestDone = true;
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

  /** Feeds the framing all of {@code b} (until a boundary); the number of bytes it walked. */
  private int feed(ByteBuf b) {
    ByteBuffer nio = b.nioBuffer(b.readerIndex(), b.readableBytes());
    long before = framing.examined();
    framing.feed(nio);
    return (int) (framing.examined() - before);
  }

  /** A whole request head {@code h} (its body, if any, still to come): check the client, rewrite, dispatch. */
  private void start(ByteBuf h) {
    String method = method(h);
    http11 = framing.http11();
    connect = framing.connect();
    headMethod = method.equals("HEAD");
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
    frontend = f;
    sentHead = heads.request(h, f.config().xForwardedFor() ? clientIp : null, client.alloc());
    clientClose = draining || (http11 ? heads.close : !heads.keepAlive || heads.close);
    keepAlive10 = !http11 && heads.keepAlive && !heads.close;
    retryable = requestDone && !connect && (method.equals("GET") || headMethod || method.equals("OPTIONS")
        || method.equals("TRACE"));
    tried = null;
    attempt = 0;
    responseStarted = false;
    headSent = false;
    closeAfter = false;
    phase = Phase.CONNECTING;
    dispatch();
  }

  /** Picks a server for the request and asks its pool for a connection (attached or connectFailed follows). */
  private void dispatch() {
    Server s = frontend.open(hash, tried);
    if (s == null) {
      LOG.warn("balancer {}: no server available{}", frontend.name(),
          tried == null ? "" : " (" + tried.size() + " failed)");
      releaseSent();
      page(503, "Service unavailable", "No server is available to take the request; try again later.",
          !requestDone);
      return;
    }
    server = s;
    counted = true;
    env.pool(s, frontend.config()).acquire(this);
  }

  /** The pool could not give a connection to the server: another server, up to the frontend's retries, or 502. */
  void connectFailed(Throwable cause) {
    Server s = server;
    if (counted) {
      s.stats().failed();
    }
    serverDone(false);
    if (phase == Phase.CLOSED) {
      return;
    }
    LOG.debug("balancer {}: server {} refused a connection: {}", frontend.name(), s.name(), cause.toString());
    retryOrFail(s, "could not be reached");
  }

  /** Sends the request again, to another server if there is one; else a 502 page saying the server {@code what}. */
  private void retryOrFail(Server s, String what) {
    if (attempt < frontend.config().retries() && sentHead != null) {
      if (tried == null) {
        tried = new HashSet<>();
      }
      tried.add(s);
      attempt++;
      phase = Phase.CONNECTING;
      dispatch();
    } else {
      releaseSent();
      page(502, "Bad gateway", "The server " + s.name() + " " + what + ".", true);
    }
  }

  /** A connection to the server for this request: the head goes, then the body as it comes. */
  void attached(Upstream u) {
    if (phase == Phase.CLOSED) { // the client left while it waited
      serverDone(false);
      u.pool.release(u);
      return;
    }
    up = u;
    u.owner = this;
    response.expect(headMethod, connect);
    // Kept for a resend while no response byte came: a pooled connection may have been closed by the server.
    ByteBuf h = retryable ? sentHead.retainedDuplicate() : sentHead;
    if (!retryable) {
      sentHead = null;
    }
    u.channel.write(h, u.channel.voidPromise());
    if (requestDone) {
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
    lastActivity = System.nanoTime();
    if (phase == Phase.TUNNEL) {
      client.write(b, client.voidPromise());
      return;
    }
    if (!responseStarted) {
      responseStarted = true;
      releaseSent();
    }
    try {
      while (b.isReadable() && phase != Phase.CLOSED) {
        ByteBuffer nio = b.nioBuffer(b.readerIndex(), b.readableBytes());
        long before = response.examined();
        response.feed(nio);
        int n = (int) (response.examined() - before);
        if (response.failed()) {
          badResponse(response.reason());
          return;
        }
        int event = response.event();
        if (!headSent) {
          if ((event & Http1Framing.HEAD) == 0) {
            if (responseHead == null) {
              responseHead = client.alloc().buffer(Math.max(256, n));
            }
            responseHead.writeBytes(b, n);
            continue;
          }
          ByteBuf h;
          if (responseHead == null) {
            h = b.readRetainedSlice(n);
          } else {
            h = responseHead.writeBytes(b, n);
            responseHead = null;
          }
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
          client.write(b.readRetainedSlice(n), client.voidPromise());
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
    headSent = true;
    if (response.tunnel()) {
      client.write(heads.response(h, null, client.alloc()), client.voidPromise());
      startTunnel();
      return;
    }
    // The client connection ends with this response when the client says so, when its request is still coming
    // (the server answered early: the rest of its body cannot be told from a next request), when the body ends only
    // by the close, when an HTTP/1.0 client did not ask to keep it, or after a CONNECT that made no tunnel.
    closeAfter = clientClose || draining || !requestDone || response.closeDelimited() || (!http11 && !keepAlive10)
        || connect; // a refused CONNECT: what the client sends next was meant for a tunnel
    String connection = closeAfter ? "close" : keepAlive10 ? "keep-alive" : null;
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
    serverDone(false);
    client.flush();
    // An HTTP/1.0 request went without keep-alive (its Connection header is the client's, dropped): never reused.
    if (response.persistent() && requestDone && http11 && !dirty) {
      u.pool.release(u);
    } else {
      u.channel.close();
    }
    if (closeAfter || !requestDone || draining) {
      closeClient();
      return;
    }
    nextRequest();
  }

  /** Readies the connection for the client's next request and walks what it has sent of it already. */
  private void nextRequest() {
    phase = Phase.HEAD;
    headStarted = false;
    requestDone = false;
    headSent = false;
    headMethod = false;
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
    LOG.warn("balancer {}: server {} sent a bad response: {}", frontend.name(), server.name(), reason);
    server.stats().failed();
    dropUpstream();
    serverDone(false);
    if (headSent) {
      closeClient();
    } else {
      page(502, "Bad gateway", "The server " + server.name() + " sent a response that cannot be relayed.", true);
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
    if (phase == Phase.TUNNEL || (headSent && response.closeDelimited())) { // the close ends the tunnel or body
      response.closed();
      serverDone(false);
      closeClient();
      return;
    }
    Server s = server;
    s.stats().failed();
    serverDone(false);
    LOG.debug("balancer {}: server {} closed during a request", frontend.name(), s.name());
    if (!responseStarted && sentHead != null) { // nothing answered, nothing done twice: another connection
      retryOrFail(s, "closed the connection without answering");
    } else if (!headSent) {
      releaseSent();
      page(502, "Bad gateway", "The server " + s.name() + " closed the connection without answering.", true);
    } else {
      closeClient();
    }
  }

  // ---- endings ----

  /** Counts the request out of its server's active ones, once. */
  private void serverDone(boolean failed) {
    if (counted) {
      counted = false;
      server.stats().closed();
      if (failed) {
        server.stats().failed();
      }
    }
  }

  /** An answer of the balancer's own: an HTML page; the connection then closes, or takes the next request. */
  private void page(int status, String title, String detail, boolean close) {
    if (headSent) {
      closeClient();
      return;
    }
    boolean last = close || clientClose || draining || !requestDone && phase != Phase.HEAD;
    byte[] body = ErrorPage.render(status, title, detail, env.node()).getBytes(StandardCharsets.UTF_8);
    String h = "HTTP/1.1 " + status + " " + reason(status) + "\r\nContent-Type: text/html; charset=utf-8\r\n"
        + "Cache-Control: no-store\r\nContent-Length: " + body.length + "\r\n" + (last ? "Connection: close\r\n" : "")
        + "\r\n";
    ByteBuf out = client.alloc().buffer(h.length() + body.length).writeBytes(h.getBytes(StandardCharsets.US_ASCII));
    if (!headMethod) { // an answer to HEAD has the length but not the body
      out.writeBytes(body);
    }
    dropUpstream();
    headSent = true;
    if (last) { // what the client sent after its request must not turn the close into a reset that eats the page
      closeClient(false);
      client.writeAndFlush(out).addListener(x -> LingeringClose.close(client));
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
    serverDone(false);
    if (now) {
      client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /** The listener shuts down: an idle connection closes now, a busy one after its response. */
  private void drain() {
    draining = true;
    if (phase == Phase.HEAD && head == null && (in == null || !in.isReadable())) {
      closeClient();
    }
  }

  private void releaseSent() {
    if (sentHead != null) {
      sentHead.release();
      sentHead = null;
    }
  }

  private void releaseBuffers() {
    releaseSent();
    for (ByteBuf b : new ByteBuf[] {in, head, responseHead}) {
      if (b != null && b.refCnt() > 0) {
        b.release();
      }
    }
    in = null;
    head = null;
    responseHead = null;
  }

  /** Checks the header and idle timeouts in {@code delay}, and again until the connection closes. */
  private void watch(long delay) {
    timer = client.eventLoop().schedule(() -> {
      if (phase == Phase.CLOSED || !client.isActive()) {
        return;
      }
      long now = System.nanoTime();
      long next = Math.min(headerTimeout, idleTimeout);
      if (phase == Phase.HEAD && headStarted && (head != null || framing.inHead())) {
        long left = headStart + headerTimeout - now;
        if (left <= 0) {
          LOG.debug("balancer: no whole request head from {} within {} ms", remote, headerTimeout / 1_000_000);
          page(408, "Request timeout", "The request was refused: its head did not come in time.", true);
          return;
        }
        next = Math.min(next, left);
      }
      long idleLeft = lastActivity + idleTimeout - now;
      if (idleLeft <= 0) {
        closeClient();
        return;
      }
      watch(Math.min(next, idleLeft));
    }, delay, TimeUnit.NANOSECONDS);
  }

  /** The method of a request head (after any empty lines before it). */
  private static String method(ByteBuf h) {
    int i = h.readerIndex();
    int end = h.writerIndex();
    while (i + 1 < end && h.getByte(i) == '\r' && h.getByte(i + 1) == '\n') {
      i += 2;
    }
    int sp = h.indexOf(i, end, (byte) ' ');
    return h.toString(i, Math.max(0, sp - i), StandardCharsets.US_ASCII);
  }

  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 408 -> "Request Timeout";
      case 414 -> "URI Too Long";
      case 431 -> "Request Header Fields Too Large";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 505 -> "HTTP Version Not Supported";
      default -> "Error";
    };
  }

  private static Channel channel(NetSocket s) {
    return ((NetSocketInternal) s).channelHandlerContext().channel();
  }

  // ---- server connections ----

  /** A connection to a server: its bytes go to the relay that holds it, or end it if none does (idle in the pool). */
  static final class Upstream extends ChannelInboundHandlerAdapter {
    final Pool pool;
    final Channel channel;
    HttpRelay owner;
    long idleSince;
    boolean detached;

    Upstream(Pool pool, NetSocket socket) {
      this.pool = pool;
      this.channel = channel(socket);
      ChannelHandlerContext vertx = ((NetSocketInternal) socket).channelHandlerContext();
      vertx.pipeline().addBefore(vertx.name(), "portcullisUpstream", this);
      Splice.levelTriggered(channel);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (owner != null) {
        owner.onResponse((ByteBuf) msg);
      } else { // a byte on an idle connection: it is not in a state to take a request
        ((ByteBuf) msg).release();
        ctx.close();
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (owner != null) {
        owner.upstreamReadComplete();
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (owner != null) {
        owner.upstreamWritable();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      pool.closed(this);
      if (owner != null) {
        owner.upstreamClosed();
      }
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /**
   * The keep-alive connections of one event loop to one server: idle ones (the last used first), at most
   * {@code max} open, requests beyond that waiting in order for one to come back (failed after the connect timeout).
   */
  static final class Pool {
    private final Function<HostPort, Future<NetSocket>> connector;
    private final HostPort address;
    private final int max;
    private final long idleNanos;
    private final long waitNanos;
    private final ArrayDeque<Upstream> idle = new ArrayDeque<>();
    private final ArrayDeque<HttpRelay> waiters = new ArrayDeque<>();
    private final ArrayDeque<Long> waitingSince = new ArrayDeque<>();
    private int open;

    Pool(Function<HostPort, Future<NetSocket>> connector, HostPort address, int max, java.time.Duration idle,
        java.time.Duration wait) {
      this.connector = connector;
      this.address = address;
      this.max = Math.max(1, max);
      this.idleNanos = idle.toNanos();
      this.waitNanos = wait.toNanos();
    }

    /** Gives {@code r} a connection: an idle one now, a new one when connected, or one freed later. */
    void acquire(HttpRelay r) {
      Upstream u;
      while ((u = idle.pollFirst()) != null) {
        if (u.channel.isActive()) {
          r.attached(u);
          return;
        }
      }
      if (open < max) {
        connect(r);
      } else {
        waiters.addLast(r);
        waitingSince.addLast(System.nanoTime());
      }
    }

    private void connect(HttpRelay r) {
      open++;
      connector.apply(address).onComplete(ar -> {
        if (ar.failed()) {
          open--;
          r.connectFailed(ar.cause());
          serveWaiter();
          return;
        }
        r.attached(new Upstream(this, ar.result()));
      });
    }

    /** A clean connection back from a relay: to the first waiter, else idle. */
    void release(Upstream u) {
      if (!u.channel.isActive()) {
        return;
      }
      HttpRelay w = waiters.pollFirst();
      if (w != null) {
        waitingSince.pollFirst();
        w.attached(u);
        return;
      }
      u.idleSince = System.nanoTime();
      idle.addFirst(u);
    }

    /** {@code u} becomes a tunnel: it no longer counts against {@code max}. */
    void detach(Upstream u) {
      if (!u.detached) {
        u.detached = true;
        open--;
        serveWaiter();
      }
    }

    void closed(Upstream u) {
      idle.remove(u);
      if (!u.detached) {
        u.detached = true;
        open--;
      }
      serveWaiter();
    }

    private void serveWaiter() {
      if (!waiters.isEmpty() && open < max) {
        waitingSince.pollFirst();
        connect(waiters.pollFirst());
      }
    }

    /** Closes connections idle longer than the idle timeout; fails requests that waited longer than the wait. */
    void sweep(long now) {
      Upstream u;
      while ((u = idle.peekLast()) != null && now - u.idleSince > idleNanos) {
        idle.pollLast();
        u.channel.close();
      }
      while (!waiters.isEmpty() && (now - waitingSince.peekFirst() > waitNanos
          || waiters.peekFirst().phase == Phase.CLOSED)) {
        waitingSince.pollFirst();
        waiters.pollFirst().connectFailed(new IllegalStateException("no free connection to " + address + " within "
            + waitNanos / 1_000_000 + " ms"));
      }
    }

    /** Closes the idle connections (the verticle stops). */
    void close() {
      idle.forEach(x -> x.channel.close());
      idle.clear();
    }
  }
}
