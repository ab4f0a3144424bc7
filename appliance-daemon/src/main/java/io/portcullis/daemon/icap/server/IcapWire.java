package io.portcullis.daemon.icap.server;

import io.netty.buffer.ByteBuf;
import io.portcullis.daemon.scan.ScanResult;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What an {@link IcapTransaction} needs of its connection, and all it may do with it: the socket, the decoder and
 * the metrics stay the connection's.
 */
interface IcapWire {
  /** Writes {@code bytes} as they are. */
  void send(byte[] bytes);

  /** Writes {@code shared}, a buffer that every connection writes duplicates of. */
  void send(ByteBuf shared);

  /**
   * Writes {@code data} as one chunk, not copied (its bytes must stay as they are until written); reading pauses while
   * the socket's write queue is full.
   */
  void sendChunk(ByteBuffer data);

  /** After a preview and 100 Continue: the decoder goes on with the rest of the body. */
  void continueBody();

  /** After a preview and a final answer: the decoder skips the rest of the body (the client sends none). */
  void skipBody();

  /** Runs {@code scan} while the connection reads nothing, then {@code then} on its event loop, unless closed. */
  void awaitScan(Supplier<CompletableFuture<ScanResult>> scan, Consumer<ScanResult> then);

  /** A body went unscanned because icap.maxBufferedBytes was reached: counted. */
  void scanBuffersFull();

  /** Closes the connection now: an answer already under way is cut off. */
  void cut();

  /** The transaction is over (counted with these values); the connection goes on with its next message. */
  void finished(String method, String action, int status, long nanos);
}
