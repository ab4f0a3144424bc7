package io.portcullis.daemon.icap.client;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayDeque;

/**
 * The body of an ICAP answer as a stream: what the decoder gives is passed on, and pausing the stream pauses the
 * ICAP connection (back-pressure from the user to the ICAP server). What comes before a handler is set, or while
 * paused, waits here.
 */
final class IcapStream implements ReadStream<Buffer> {
  private final NetSocket socket;
  private final ArrayDeque<Buffer> waiting = new ArrayDeque<>();
  private Handler<Buffer> handler;
  private Handler<Void> endHandler;
  private Handler<Throwable> exceptionHandler;
  private boolean paused;
  private boolean ended;
  private Throwable failure;
  private boolean finished; // the end or the failure was delivered
  private boolean socketPaused;

  IcapStream(NetSocket socket) {
    this.socket = socket;
  }

  /** A piece of the body from the decoder. */
  void data(Buffer b) {
    waiting.add(b);
    deliver();
  }

  /** The body is complete. */
  void end() {
    ended = true;
    deliver();
  }

  /** The body cannot complete. */
  void fail(Throwable t) {
    failure = t;
    deliver();
  }

  private void deliver() {
    while (!paused && handler != null && !waiting.isEmpty()) {
      handler.handle(waiting.poll());
    }
    if (finished) {
      return;
    }
    if (failure != null && exceptionHandler != null) {
      finished = true;
      exceptionHandler.handle(failure);
    } else if (ended && waiting.isEmpty() && endHandler != null && handler != null) {
      finished = true;
      endHandler.handle(null);
    } else if ((paused || handler == null) != socketPaused && !ended) {
      // Only while the answer lasts: once it ended, the connection may be serving someone else.
      socketPaused = !socketPaused;
      if (socketPaused) {
        socket.pause();
      } else {
        socket.resume();
      }
    }
  }

  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
    exceptionHandler = h;
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> h) {
    handler = h;
    if (h != null) {
      deliver();
    }
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    paused = true;
    deliver();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    paused = false;
    if (socketPaused) {
      socketPaused = false;
      socket.resume(); // even after the end: the connection must not go back to the pool paused
    }
    deliver();
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    return resume();
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> h) {
    endHandler = h;
    if (h != null) {
      deliver();
    }
    return this;
  }
}
