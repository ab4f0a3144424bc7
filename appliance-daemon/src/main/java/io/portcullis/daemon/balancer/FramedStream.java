package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.portcullis.daemon.http1.Http1Framing;
import java.nio.ByteBuffer;

/**
 * One direction of a relayed HTTP/1 connection, walked by its framing ({@link Http1Framing}) as Netty buffers come:
 * a head is gathered across reads and handed out whole, body bytes are handed out as they come. The same for the
 * client's requests and a server's responses.
 */
final class FramedStream {
  final Http1Framing framing;
  private ByteBuf head; // a head begun in an earlier read

  FramedStream(Http1Framing framing) {
    this.framing = framing;
  }

  /**
   * Walks {@code b} up to the framing's next stop and takes the bytes walked: a whole head (with {@code inHead}) or a
   * body piece, to the caller; null while a head goes on (it is kept) or when the framing failed.
   */
  ByteBuf next(ByteBuf b, boolean inHead, ByteBufAllocator alloc) {
    ByteBuffer nio = b.nioBuffer(b.readerIndex(), b.readableBytes());
    long before = framing.examined();
    framing.feed(nio);
    int n = (int) (framing.examined() - before);
    if (framing.failed()) {
      return null;
    }
    if (!inHead) {
      return b.readRetainedSlice(n);
    }
    if ((framing.event() & Http1Framing.HEAD) == 0) { // the head goes on in a later read
      if (head == null) {
        head = alloc.buffer(Math.max(256, n));
      }
      head.writeBytes(b, n);
      return null;
    }
    if (head == null) {
      return b.readRetainedSlice(n);
    }
    ByteBuf h = head.writeBytes(b, n);
    head = null;
    return h;
  }

  /** True while part of a head is kept. */
  boolean holding() {
    return head != null;
  }

  /** Lets go of a head begun. */
  void release() {
    if (head != null && head.refCnt() > 0) {
      head.release();
    }
    head = null;
  }
}
