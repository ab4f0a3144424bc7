package io.portcullis.daemon.proxy;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * Closing after an error answer the way nginx and HAProxy do: the answer's end (FIN) first, then what the client still
 * sends (the rest of a refused request, a pipelined one) is read and dropped for a moment. Closing with unread bytes
 * makes the kernel send a reset, and a reset can destroy the answer before the client has read it: the client would
 * see "connection reset" instead of the 400 or 503 that says why.
 */
public final class LingeringClose {
  /** How long the client's further bytes are read and dropped before the connection closes for good. */
  static final long LINGER_MS = 2000;
  private static final String DISCARD = "portcullisDiscard";

  private LingeringClose() {
  }

  /** From now on, what arrives on {@code ch} is dropped before any decoder sees it. */
  public static void discardInput(Channel ch) {
    if (ch.pipeline().get(DISCARD) == null) {
      ch.pipeline().addFirst(DISCARD, new ChannelInboundHandlerAdapter() {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
          ReferenceCountUtil.release(msg);
        }
      });
    }
    ch.config().setAutoRead(true);
  }

  /** Ends the output of {@code ch}, drops its input for {@link #LINGER_MS} (or until the client closes), then closes. */
  public static void close(Channel ch) {
    if (!ch.isActive() || !(ch instanceof DuplexChannel d)) {
      ch.close();
      return;
    }
    ch.eventLoop().execute(() -> {
      discardInput(ch);
      d.shutdownOutput().addListener(f -> {
        if (!f.isSuccess()) {
          ch.close();
          return;
        }
        ch.eventLoop().schedule(() -> ch.close(), LINGER_MS, TimeUnit.MILLISECONDS);
      });
    });
  }
}
