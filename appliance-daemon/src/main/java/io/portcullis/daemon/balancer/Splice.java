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
 * closes, the other closes once its pending bytes are out; Vert.x still sees both closes (its close handlers run)
 * and the idle timeouts in each pipeline still apply.
 */
final class Splice extends ChannelInboundHandlerAdapter {
  private final Channel peer;

  private Splice(Channel peer) {
    this.peer = peer;
  }

  /** Stops {@code s} reading until {@link #join} (bytes must not reach Vert.x before the relay is in place). */
  static void hold(NetSocket s) {
    channel(s).config().setAutoRead(false);
  }

  /** Relays {@code a} and {@code b} to each other from now on; both must be on the same event loop. */
  static void join(NetSocket a, NetSocket b) {
    Channel ca = channel(a);
    Channel cb = channel(b);
    install(a, new Splice(cb));
    install(b, new Splice(ca));
    ca.config().setAutoRead(true);
    cb.config().setAutoRead(true);
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
