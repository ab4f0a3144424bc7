package io.portcullis.daemon.balancer;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;

/**
 * Joins two connections below Vert.x: bytes read on one are written to the other as Netty buffers, flushed once per
 * read burst, with back-pressure by auto-read (a side whose peer cannot take more stops reading until it can). No
 * Vert.x buffer, future or context hop per chunk: this is the whole of a tcp frontend's work. When either side
 * closes, the other closes once its pending bytes are out; Vert.x still sees both closes (its close handlers run).
 * The idle timeout is the splice's own (no byte either way for that long): Netty's idle handler would cost a promise
 * and a listener per write, and would see one side of a download as idle.
 */
final class Splice extends ChannelInboundHandlerAdapter {
  private final Channel peer;
  private final Activity activity;

  /** When the last bytes went either way, shared by both halves. */
  private static final class Activity {
    volatile long last = System.nanoTime();
  }

  private Splice(Channel peer, Activity activity) {
    this.peer = peer;
    this.activity = activity;
  }

  /** Stops {@code s} reading until {@link #join} (bytes must not reach Vert.x before the relay is in place). */
  static void hold(NetSocket s) {
    channel(s).config().setAutoRead(false);
  }

  /**
   * Level-triggered epoll for a spliced channel: edge-triggered mode reads until the socket says EAGAIN, one more
   * read() per burst than needed when each burst is a whole message.
   */
  static void levelTriggered(Channel c) {
    if (c instanceof io.netty.channel.epoll.EpollSocketChannel) {
      c.config().setOption(io.netty.channel.epoll.EpollChannelOption.EPOLL_MODE,
          io.netty.channel.epoll.EpollMode.LEVEL_TRIGGERED);
    }
  }

  /** Relays {@code a} and {@code b} to each other from now on; both close after {@code idle} without a byte. */
  static void join(NetSocket a, NetSocket b, java.time.Duration idle) {
    Channel ca = channel(a);
    Channel cb = channel(b);
    Activity activity = new Activity();
    levelTriggered(ca);
    levelTriggered(cb);
    install(a, new Splice(cb, activity));
    install(b, new Splice(ca, activity));
    ca.config().setAutoRead(true);
    cb.config().setAutoRead(true);
    watch(ca, cb, activity, idle.toNanos(), idle.toNanos());
  }

  /** Checks in {@code delay} whether the splice was silent for {@code idle}; closes both if so, else looks again. */
  private static void watch(Channel a, Channel b, Activity activity, long idle, long delay) {
    a.eventLoop().schedule(() -> {
      if (!a.isActive() && !b.isActive()) {
        return;
      }
      long silent = System.nanoTime() - activity.last;
      if (silent >= idle) {
        a.close();
        b.close();
      } else {
        watch(a, b, activity, idle, idle - silent);
      }
    }, delay, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  private static void install(NetSocket s, Splice relay) {
    ChannelHandlerContext vertx = ((NetSocketInternal) s).channelHandlerContext();
    vertx.pipeline().addBefore(vertx.name(), "portcullisSplice", relay);
  }

  private static Channel channel(NetSocket s) {
    return ((NetSocketInternal) s).channelHandlerContext().channel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    activity.last = System.nanoTime();
    if (peer.isActive()) {
      peer.write(msg, peer.voidPromise());
    } else {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    peer.flush();
    if (!peer.isWritable()) {
      ctx.channel().config().setAutoRead(false); // until the peer drains (channelWritabilityChanged there)
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (ctx.channel().isWritable()) {
      peer.config().setAutoRead(true);
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (peer.isActive()) {
      peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close(); // a reset or the like: both sides go (channelInactive closes the peer)
  }
}
