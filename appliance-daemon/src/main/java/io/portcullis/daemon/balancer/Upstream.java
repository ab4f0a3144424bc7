package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.portcullis.daemon.http1.Http1Framing;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;

/**
 * A connection to a server: its bytes go to the relay that holds it, or end it if none does (idle in the pool). Its
 * responses are walked by its own framing, one after another, each for the request {@link #expect}ed.
 */
final class Upstream extends ChannelInboundHandlerAdapter {
  final Pool pool;
  final Channel channel;
  final FramedStream responses = new FramedStream(new Http1Framing(Http1Framing.Mode.RESPONSE,
      Http1Framing.Limits.response(HttpRelay.MAX_RESPONSE_HEAD)));
  HttpRelay owner;
  long idleSince;
  boolean detached;

  Upstream(Pool pool, NetSocket socket) {
    this.pool = pool;
    this.channel = HttpRelay.channel(socket);
    ChannelHandlerContext vertx = ((NetSocketInternal) socket).channelHandlerContext();
    vertx.pipeline().addBefore(vertx.name(), "portcullisUpstream", this);
    Splice.levelTriggered(channel);
  }

  /** Readies the walk for the response to the request about to be sent: HEAD has no body, CONNECT's 2xx tunnels. */
  void expect(boolean head, boolean connect) {
    responses.release();
    responses.framing.expect(head, connect);
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
    responses.release();
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
