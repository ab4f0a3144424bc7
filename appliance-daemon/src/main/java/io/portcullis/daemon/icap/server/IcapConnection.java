package io.portcullis.daemon.icap.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.scan.ScanResult;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICAP client connection, the wire: decodes its messages in order and hands each to an {@link IcapTransaction},
 * on the connection's event loop, never blocking (scans run on the scanner's threads; meanwhile the connection waits,
 * its later messages queued). It keeps the header timeout and the decoder's limits; a malformed message gets a 400
 * and the connection closes.
 */
final class IcapConnection implements IcapWire {
  private static final Logger LOG = LoggerFactory.getLogger(IcapConnection.class);

  private final NetSocket socket;
  private final Supplier<IcapSettings> settings;
  private final IcapMetrics metrics;
  private final Runnable onClose;
  private final Context context;
  private final Deque<IcapDecoder.Event> queue = new ArrayDeque<>();
  private final IcapMetrics.Last lastMeters = new IcapMetrics.Last();
  private final BodyBuffer body;
  private IcapDecoder decoder;
  private boolean closed;
  private boolean waiting;
  private IcapTransaction tx; // the message in progress, or null between messages
  private long headTimer = -1;
  private boolean midHead; // a head is being read (it began at headStarted)
  private long headStarted; // System.nanoTime()

  /** A connection on {@code socket}, reading {@code settings} per message; {@code onClose} runs once it closed. */
  IcapConnection(NetSocket socket, Supplier<IcapSettings> settings, IcapMetrics metrics, ScanBuffers buffers,
      Runnable onClose, Context context) {
    this.body = new BodyBuffer(buffers);
    this.socket = socket;
    this.settings = settings;
    this.metrics = metrics;
    this.onClose = onClose;
    this.context = context;
  }

  /** Starts reading the socket. */
  void start() {
    decoder = new IcapDecoder(IcapDecoder.Mode.REQUEST, settings.get().limits());
    socket.handler(this::onData);
    socket.closeHandler(v -> {
      if (headTimer >= 0) {
        context.owner().cancelTimer(headTimer);
        headTimer = -1;
      }
      boolean midTransaction = !closed && tx != null;
      closed = true;
      if (midTransaction) {
        tx.abort();
      }
      onClose.run();
    });
    socket.exceptionHandler(e -> LOG.debug("icap connection {}: {}", socket.remoteAddress(), e.toString()));
  }

  /** Bytes read: decoded, and the events they complete handled. */
  private void onData(Buffer buffer) {
    if (closed) {
      return;
    }
    if (tx == null && !midHead) {
      headBegins(); // between messages: these bytes begin a head, which must be whole within icap.headerTimeout
    }
    ByteBuffer in = ((BufferInternal) buffer).getByteBuf().nioBuffer();
    queue.addAll(decoder.feed(in));
    drain();
    armHeadTimerIfMidHead();
  }

  /**
   * A read (or a scan's end) may leave the start of a next head in the decoder after a whole message: it gets the
   * header timeout too, or a client could stall there until the idle timeout.
   */
  private void armHeadTimerIfMidHead() {
    if (!closed && tx == null && !midHead && !decoder.idle()) {
      headBegins();
    }
  }

  /**
   * A head begins now. The connection's one timer is set only when none is pending, and when it fires it looks at
   * the head in progress then (if any): a timer set and cancelled per message was a large share of the event loop's
   * work for small REQMODs, and a busy connection now sets one per header timeout.
   */
  private void headBegins() {
    midHead = true;
    headStarted = System.nanoTime();
    if (headTimer < 0) {
      headTimer = context.owner().setTimer(headTimeoutMillis(), t -> onHeadTimer());
    }
  }

  /** icap.headerTimeout, at least 100 ms. */
  private long headTimeoutMillis() {
    return Math.max(100, settings.get().icap().headerTimeout().toMillis());
  }

  /** The header timer fired: a head still in progress past its timeout gets a 408, else the timer waits on. */
  private void onHeadTimer() {
    headTimer = -1;
    if (closed || tx != null || !midHead) {
      return; // no head in progress: the next one sets the timer again
    }
    long left = headTimeoutMillis() - (System.nanoTime() - headStarted) / 1_000_000;
    if (left <= 0) {
      onHeadTimeout();
    } else {
      headTimer = context.owner().setTimer(Math.max(1, left), t -> onHeadTimer()); // a later head than the timer's
    }
  }

  /** Handles queued events until the queue is empty or a scan makes the connection wait. */
  private void drain() {
    try {
      while (!waiting && !closed && !queue.isEmpty()) {
        IcapDecoder.Event e = queue.poll();
        if (e instanceof IcapDecoder.Body b) {
          tx.onBody(b.data());
        } else if (e instanceof IcapDecoder.Head h) {
          onHead((IcapRequest) h.message());
        } else if (e instanceof IcapDecoder.End) {
          tx.onEnd();
        } else if (e instanceof IcapDecoder.PreviewEnd) {
          tx.onPreviewEnd();
        } else if (e instanceof IcapDecoder.Error err) {
          onError(err.reason());
        }
      }
    } catch (RuntimeException e) {
      // A bug must cost one connection, never the server.
      LOG.error("icap connection {}: internal error, closing", socket.remoteAddress(), e);
      closed = true;
      socket.close();
    }
  }

  /** A whole head: its message becomes the transaction in progress. */
  private void onHead(IcapRequest r) {
    midHead = false; // the head is whole (its timer, if pending, finds no head in progress)
    body.clear();
    // Settings are read per message: a commit applies to the next message on every open connection.
    tx = new IcapTransaction(this, r, settings.get(), body);
    tx.onHead();
  }

  /** The head did not come whole in time: 408 and close, as RFC 3507 names it. */
  private void onHeadTimeout() {
    metrics.badRequest();
    LOG.debug("icap connection {}: no whole head within the header timeout", socket.remoteAddress());
    closed = true;
    byte[] answer = IcapAnswers.closing(408, "Request Timeout", settings.get().istag());
    socket.write(Buffer.buffer(answer)).onComplete(x -> socket.close());
  }

  /** A malformed message or one beyond the limits: 400 (unless an answer is under way) and close. */
  private void onError(String reason) {
    metrics.badRequest();
    LOG.debug("icap connection {}: bad request: {}", socket.remoteAddress(), reason);
    closed = true;
    if (tx != null && tx.answerStarted()) {
      socket.close(); // mid-answer: a 400 can no longer be framed; the client sees the close
      return;
    }
    byte[] answer = IcapAnswers.closing(400, "Bad Request", settings.get().istag());
    socket.write(Buffer.buffer(answer)).onComplete(x -> socket.close());
  }

  // ---- the wire, for the transaction -----------------------------------------------------------------------------

  @Override
  public void send(byte[] bytes) {
    socket.write(Buffer.buffer(bytes));
  }

  @Override
  public void send(ByteBuf shared) {
    socket.write(BufferInternal.buffer(shared));
  }

  @Override
  public void sendChunk(ByteBuffer data) {
    socket.write(Buffer.buffer(IcapEncoder.chunkHeader(data.remaining())));
    // The decoder's view points into this connection's own input buffer, which nothing reuses: no copy.
    socket.write(BufferInternal.buffer(Unpooled.wrappedBuffer(data)));
    socket.write(Buffer.buffer(IcapEncoder.CRLF));
    if (socket.writeQueueFull()) {
      socket.pause();
      socket.drainHandler(v -> {
        if (!waiting) {
          socket.resume();
        }
      });
    }
  }

  @Override
  public void continueBody() {
    queue.addAll(decoder.continueBody());
  }

  @Override
  public void skipBody() {
    queue.addAll(decoder.skipBody());
  }

  @Override
  public void awaitScan(Supplier<CompletableFuture<ScanResult>> scan, Consumer<ScanResult> then) {
    waiting = true;
    socket.pause();
    long t0 = System.nanoTime();
    scan.get().whenComplete((result, err) -> context.runOnContext(v -> {
      metrics.scan(result, System.nanoTime() - t0);
      waiting = false;
      if (closed) {
        return;
      }
      try {
        then.accept(result);
      } catch (RuntimeException e) {
        LOG.error("icap connection {}: internal error after scan, closing", socket.remoteAddress(), e);
        closed = true;
        socket.close();
        return;
      }
      socket.resume();
      drain();
      armHeadTimerIfMidHead();
    }));
  }

  @Override
  public void scanBuffersFull() {
    metrics.buffersFull();
  }

  @Override
  public void cut() {
    closed = true;
    socket.close();
  }

  @Override
  public void finished(String method, String action, int status, long nanos) {
    metrics.transaction(lastMeters, method, action, status, nanos);
    tx = null;
    body.clear();
  }
}
