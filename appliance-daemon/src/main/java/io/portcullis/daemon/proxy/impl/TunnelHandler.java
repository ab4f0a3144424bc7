package io.portcullis.daemon.proxy.impl;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.ScheduledFuture;
import io.portcullis.daemon.tls.ClientHelloReader;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The user's side of a CONNECT tunnel, in the connection's pipeline in front of the framing guard from the 200 on.
 * It first peeks: the bytes go to a {@link ClientHelloReader}, none further, until the hello is whole, is not TLS,
 * or proxy.tls.helloTimeout passes; then it holds what comes until the tunnel's fate is applied: joined to the
 * origin's connection ({@link #splice}, bytes both ways with back-pressure), or passed on decrypted to the proxy's
 * own HTTP/1 server on this very connection ({@link #pass}). It counts the bytes the user gets either way.
 */
final class TunnelHandler extends ChannelDuplexHandler {
  static final String NAME = "portcullisTunnel";
  /** What a tunnel may send beyond its hello before its fate is applied (a TLS 1.3 client sends nothing). */
  private static final int MAX_HELD = 64 * 1024;

  private enum Mode { PEEK, HOLD, SPLICE, PASS, CLOSED }

  private final ClientHelloReader reader;
  private final long timeoutMillis;
  private final Consumer<ClientHelloReader.Result> decide;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private CompositeByteBuf held;
  private Mode mode = Mode.PEEK;
  private NetSocket upstream;
  private long toClient;

  /**
   * Peeks with {@code reader} for at most {@code timeoutMillis}, then tells {@code decide} the result, once, on the
   * connection's event loop (null: nothing whole in time).
   */
  TunnelHandler(ClientHelloReader reader, long timeoutMillis, Consumer<ClientHelloReader.Result> decide) {
    this.reader = reader;
    this.timeoutMillis = timeoutMillis;
    this.decide = decide;
  }

  /** The bytes written to the user so far. */
  long toClient() {
    return toClient;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    timer = ctx.executor().schedule(() -> decided(null), timeoutMillis, TimeUnit.MILLISECONDS);
  }

  private void decided(ClientHelloReader.Result r) {
    if (mode != Mode.PEEK) {
      return;
    }
    mode = Mode.HOLD;
    if (timer != null) {
      timer.cancel(false);
    }
    decide.accept(r);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ctx.fireChannelRead(msg);
      return;
    }
    switch (mode) {
      case PEEK -> {
        ClientHelloReader.Result r = reader.feed(buf.nioBuffer());
        buf.release();
        if (r.isFinal()) {
          decided(r);
        }
      }
      case HOLD -> {
        if (held == null) {
          held = ctx.alloc().compositeBuffer();
        }
        held.addComponent(true, buf);
        if (held.readableBytes() > MAX_HELD) {
          ctx.close(); // a client that floods before it has heard anything back is no TLS client
        }
      }
      case SPLICE -> toOrigin(buf);
      case PASS -> ctx.fireChannelRead(buf);
      default -> buf.release();
    }
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf b) {
      toClient += b.readableBytes(); // the decrypted side's writes, encrypted by the handler after this one
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (mode == Mode.SPLICE) {
      if (ctx.channel().isWritable()) {
        upstream.resume();
      } else {
        upstream.pause();
      }
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    Mode was = mode;
    mode = Mode.CLOSED;
    if (timer != null) {
      timer.cancel(false);
    }
    if (held != null) {
      held.release();
      held = null;
    }
    if (upstream != null) {
      upstream.close();
    }
    if (was == Mode.PEEK) {
      decide.accept(null); // gone before it said anything: the tunnel's owner still closes its side
    }
    ctx.fireChannelInactive();
  }

  /** The bytes the peek read and those held since, in order; this handler holds nothing after. */
  private ByteBuf replay() {
    ByteBuffer seen = reader.bytesSeen();
    ByteBuf first = Unpooled.wrappedBuffer(seen);
    CompositeByteBuf h = held;
    held = null;
    return h == null ? first : Unpooled.wrappedBuffer(first, h);
  }

  /** Joins the user's connection to {@code origin}'s: what was read goes first, then bytes both ways. */
  void splice(NetSocket origin) {
    if (mode != Mode.HOLD) {
      origin.close();
      return;
    }
    mode = Mode.SPLICE;
    upstream = origin;
    ByteBuf first = replay();
    if (first.isReadable()) {
      toOrigin(first);
    } else {
      first.release();
    }
    origin.handler(b -> {
      ByteBuf out = ((BufferInternal) b).getByteBuf();
      toClient += out.readableBytes();
      ctx.writeAndFlush(out);
      if (!ctx.channel().isWritable()) {
        origin.pause(); // resumed when the channel drains (channelWritabilityChanged)
      }
    });
    origin.endHandler(v -> ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE));
    origin.exceptionHandler(e -> ctx.close());
    origin.closeHandler(v -> ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE));
    origin.resume();
  }

  private void toOrigin(ByteBuf buf) {
    Buffer b = Buffer.buffer(ByteBufUtil.getBytes(buf));
    buf.release();
    upstream.write(b);
    if (upstream.writeQueueFull()) {
      ctx.channel().config().setAutoRead(false);
      upstream.drainHandler(v -> ctx.channel().config().setAutoRead(true));
    }
  }

  /**
   * Puts {@code decoder} (the TLS termination) after this handler and lets everything through to it from now on,
   * beginning with what was read.
   */
  void pass(String name, ChannelHandler decoder) {
    if (mode != Mode.HOLD) {
      return;
    }
    mode = Mode.PASS;
    ctx.pipeline().addAfter(NAME, name, decoder);
    ctx.fireChannelRead(replay());
    // Outside a read when the fate came later (an origin looked at): the TLS handler flushes its answer on this.
    ctx.fireChannelReadComplete();
  }

  /** True while the tunnel's fate waits to be applied (the user has not gone). */
  boolean holding() {
    return mode == Mode.HOLD;
  }
}
