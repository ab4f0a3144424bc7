package io.portcullis.daemon.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.daemon.http1.Http1Framing;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Sits in front of the HTTP decoder of each client connection and lets through only what the strict request walk
 * ({@link Http1Framing}, REQUEST mode) finds sound: a head once it is whole, body bytes as they come. On a bad head
 * (or one that takes longer than the header timeout) it passes on bytes the decoder must refuse, so that the
 * server's invalid-request path answers with our error page, in order after any earlier pipelined request, and
 * closes. On a bad body it tells the proxy ({@link #BODY_REFUSED}). Nothing after a violation goes on.
 */
public final class RequestGuard extends ChannelInboundHandlerAdapter {
  /** Why the guard refused a request: read by the invalid-request handler for its page and log. */
  public record Refusal(int status, String reason) {
  }

  static final AttributeKey<Refusal> REFUSAL = AttributeKey.valueOf("portcullis.refusal");
  /**
   * Told when a body's framing is bad: the request went on already, so the server's invalid-request path cannot
   * answer it; the proxy resets the upstream request and answers (or closes) itself. Unset: the connection closes.
   */
  static final AttributeKey<java.util.function.Consumer<Refusal>> BODY_REFUSED =
      AttributeKey.valueOf("portcullis.bodyRefused");
  /**
   * A head the decoder refuses (its Content-Length is not a number), which starts the server's invalid-request path;
   * its request line is sound, so the answer is HTTP/1.1.
   */
  private static final byte[] BAD_HEAD = "GET / HTTP/1.1\r\nContent-Length: refused\r\n\r\n"
      .getBytes(StandardCharsets.US_ASCII);

  private final Http1Framing framing;
  private final Http1Framing.Limits limits;
  private final Duration headerTimeout;
  private final Duration bodyTimeout;
  private final long headerTimeoutNanos;
  private final long bodyTimeoutNanos;
  private final long minBodyRate;
  private ScheduledFuture<?> bodyTimer;
  private long bodyDeadline;
  private long bodyBytes;
  private ByteBuf held; // examined, not yet passed on
  private long passed;
  private boolean stopped;
  private ScheduledFuture<?> headTimer;

  RequestGuard(Http1Framing.Limits limits, Duration headerTimeout, Duration bodyTimeout, long minBodyRate) {
    this.framing = new Http1Framing(Http1Framing.Mode.REQUEST, limits);
    this.limits = limits;
    this.headerTimeout = headerTimeout;
    this.bodyTimeout = bodyTimeout;
    this.headerTimeoutNanos = headerTimeout.toNanos();
    this.bodyTimeoutNanos = bodyTimeout.toNanos();
    this.minBodyRate = Math.max(1, minBodyRate);
  }

  /**
   * Puts a guard in front of the HTTP/1.1 decoder of {@code conn}; {@code bodyRefused} is told of a body whose framing
   * broke. Returns false (and closes the connection) when it has no such decoder.
   */
  public static boolean install(io.vertx.core.http.HttpConnection conn, Http1Framing.Limits limits,
      Duration headerTimeout, Duration bodyTimeout, long minBodyRate,
      java.util.function.Consumer<Refusal> bodyRefused) {
    var pipeline = ((io.vertx.core.net.impl.ConnectionBase) conn).channelHandlerContext().pipeline();
    if (pipeline.get("httpDecoder") == null) {
      conn.close();
      return false;
    }
    pipeline.addBefore("httpDecoder", "portcullisGuard", new RequestGuard(limits, headerTimeout, bodyTimeout,
        minBodyRate));
    pipeline.addAfter("httpDecoder", "portcullisConnect", CONNECT_KEEPS_ALIVE);
    pipeline.channel().attr(BODY_REFUSED).set(bodyRefused);
    return true;
  }

  /**
   * Puts a new guard, with the same limits, in place of {@code ch}'s: the requests decrypted inside an inspected
   * tunnel are guarded from their start as those of a new connection (the old guard took all after the CONNECT for
   * the tunnel's).
   */
  public static void restart(io.netty.channel.Channel ch) {
    if (ch.pipeline().get("portcullisGuard") instanceof RequestGuard g) {
      ch.pipeline().replace("portcullisGuard", "portcullisGuard",
          new RequestGuard(g.limits, g.headerTimeout, g.bodyTimeout, g.minBodyRate));
    }
  }

  /**
   * A CONNECT's connection outlives its 200 whatever its Connection header or HTTP version says (an HTTP/1.0 CONNECT
   * has no keep-alive by default): it becomes the tunnel, or carries the requests decrypted in it. Set before the
   * server reads the request, which would close the connection after the 200 otherwise.
   */
  private static final io.netty.channel.ChannelHandler CONNECT_KEEPS_ALIVE = new ConnectKeepsAlive();

  @io.netty.channel.ChannelHandler.Sharable
  private static final class ConnectKeepsAlive extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof io.netty.handler.codec.http.HttpRequest r
          && io.netty.handler.codec.http.HttpMethod.CONNECT.equals(r.method())) {
        r.headers().set(io.netty.handler.codec.http.HttpHeaderNames.CONNECTION,
            io.netty.handler.codec.http.HttpHeaderValues.KEEP_ALIVE);
      }
      ctx.fireChannelRead(msg);
    }
  }

  /** Why the guard refused the request on {@code conn}, or null if it was the decoder's own refusal. */
  public static Refusal refusal(io.vertx.core.http.HttpConnection conn) {
    return ((io.vertx.core.net.impl.ConnectionBase) conn).channel().attr(REFUSAL).get();
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    armTimer(ctx); // a connection that never sends a whole head is cut off too
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    if (stopped) {
      buf.release();
      return;
    }
    boolean wasInHead = framing.inHead();
    boolean wasInBody = framing.inBody();
    long bodiesBefore = framing.bodies();
    int size = buf.readableBytes();
    long ok = framing.feed(buf.nioBuffer());
    int n = (int) (ok - passed);
    if (held == null && n == buf.readableBytes()) {
      passed = ok; // the common case: all of it is sound, pass the buffer itself
      ctx.fireChannelRead(buf);
    } else {
      held = held == null ? buf : Unpooled.wrappedBuffer(held, buf);
      if (n > 0) {
        passed = ok;
        ctx.fireChannelRead(held.readRetainedSlice(n));
      }
      if (!held.isReadable()) {
        held.release();
        held = null;
      }
    }
    if (framing.failed()) {
      refuse(ctx, new Refusal(framing.status(), framing.reason()));
      return;
    }
    if (framing.inHead() && !wasInHead) {
      armTimer(ctx);
    } else if (!framing.inHead()) {
      cancelTimer();
    }
    if (framing.inBody() && (!wasInBody || framing.bodies() != bodiesBefore)) {
      armBodyTimer(ctx); // a new body (also one that began in the read that ended the last)
    } else if (!framing.inBody() && bodyTimer != null) {
      bodyTimer.cancel(false);
      bodyTimer = null;
    }
    if (framing.inBody() || wasInBody) {
      bodyBytes += size; // a head's bytes in the same read count too: a little more allowance, never less
    }
  }

  /**
   * A body has begun: it must be whole by bodyTimeout plus a second per minBodyRate bytes received; while the proxy
   * reads nothing (it holds the body back: the origin or the ICAP server is slower) the clock stops.
   */
  private void armBodyTimer(ChannelHandlerContext ctx) {
    if (bodyTimeoutNanos <= 0) {
      return;
    }
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
    }
    bodyBytes = 0;
    bodyDeadline = System.nanoTime() + bodyTimeoutNanos;
    long tick = Math.min(500_000_000L, Math.max(10_000_000L, bodyTimeoutNanos / 4));
    bodyTimer = ctx.executor().scheduleAtFixedRate(() -> {
      if (stopped || !framing.inBody()) {
        return;
      }
      if (!ctx.channel().config().isAutoRead()) {
        bodyDeadline += tick;
        return;
      }
      // In double: a long of bytes times 1e9 overflows past 8.6 GiB, and that would cut big uploads.
      if (System.nanoTime() - bodyDeadline > bodyBytes * 1e9 / minBodyRate) {
        refuse(ctx, new Refusal(408, "the request body came slower than " + minBodyRate + " bytes a second"));
      }
    }, tick, tick, TimeUnit.NANOSECONDS);
  }

  private void armTimer(ChannelHandlerContext ctx) {
    cancelTimer();
    headTimer = ctx.executor().schedule(() -> {
      if (!stopped && (framing.inHead() || passed == 0)) {
        refuse(ctx, new Refusal(408, "the request head did not arrive within the header timeout"));
      }
    }, headerTimeoutNanos, TimeUnit.NANOSECONDS);
  }

  private void cancelTimer() {
    if (headTimer != null) {
      headTimer.cancel(false);
      headTimer = null;
    }
  }

  private void refuse(ChannelHandlerContext ctx, Refusal r) {
    stopped = true;
    cancelTimer();
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
      bodyTimer = null;
    }
    // A body refused (bad framing, or too slow): the head went on already, so the proxy ends that request itself.
    boolean inBody = framing.failedInBody() || framing.inBody();
    if (held != null) {
      held.release();
      held = null;
    }
    ctx.channel().attr(REFUSAL).set(r);
    if (inBody) {
      // Nothing more of the body goes on, so the request never ends by itself.
      var hook = ctx.channel().attr(BODY_REFUSED).get();
      if (hook != null) {
        hook.accept(r);
      } else {
        ctx.close();
      }
      return;
    }
    ctx.fireChannelRead(Unpooled.wrappedBuffer(BAD_HEAD));
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancelTimer();
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
      bodyTimer = null;
    }
    if (held != null) {
      held.release();
      held = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancelTimer();
    if (bodyTimer != null) {
      bodyTimer.cancel(false);
      bodyTimer = null;
    }
    ctx.fireChannelInactive();
  }
}
