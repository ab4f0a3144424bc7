package io.portcullis.daemon.icap.codec;

import io.portcullis.daemon.http1.Http1Framing;
import io.portcullis.daemon.http1.Violation;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * ICAP message decoder: an explicit state machine fed with bytes as they arrive, split anywhere. It turns a byte
 * stream into {@link Event}s: a {@link Head} (ICAP line, headers, encapsulated HTTP heads), the de-chunked
 * {@link Body} pieces, {@link PreviewEnd} when a preview stops without {@code ieof}, and {@link End}. Bad input is an
 * {@link Error} event, never an exception; after it the decoder takes nothing more. Not thread-safe. The head is read
 * by {@link IcapHeadParser}; the chunked body is the http1 core's CHUNKED walk, ICAP adding preview and ieof.
 */
public final class IcapDecoder {

  /** Which side's messages are read: requests (the server) or responses (the client). */
  public enum Mode { REQUEST, RESPONSE }

  /**
   * Bounds on what a peer may send. {@code maxHeadBytes}: the ICAP line and headers; {@code maxHeaderCount}: fields
   * per header block; {@code maxHttpHeadBytes}: all encapsulated HTTP heads of one message; {@code maxChunkSize}: one
   * chunk's declared size; {@code maxPreview}: the {@code Preview} value.
   */
  public record Limits(int maxHeadBytes, int maxHeaderCount, int maxHttpHeadBytes, long maxChunkSize, int maxPreview) {
    public static final Limits DEFAULTS = new Limits(16 * 1024, 100, 64 * 1024, 16L * 1024 * 1024, 1024 * 1024);
  }

  /** What the decoder found. */
  public sealed interface Event permits Head, Body, PreviewEnd, End, Error {
  }

  /** A message head. A message without body is followed at once by {@link End}. */
  public record Head(IcapMessage message) implements Event {
  }

  /** A piece of the de-chunked body; a view of the input, valid until the next call to the decoder. */
  public record Body(ByteBuffer data) implements Event {
  }

  /** The preview ended without {@code ieof}: call {@link #continueBody} after 100 Continue, or {@link #skipBody}. */
  public record PreviewEnd() implements Event {
  }

  /** The message is complete (after {@code 0; ieof} in a preview too); {@code trailers} may be empty. */
  public record End(Headers trailers) implements Event {
  }

  /** The input is not a valid ICAP message: why. The decoder is done. */
  public record Error(String reason) implements Event {
  }

  private enum State { HEAD, HTTP_HEADS, BODY, PREVIEW_PAUSE, FAILED }

  private final Mode mode;
  private final Limits limits;
  private final IcapHeadParser head;
  private final Http1Framing chunks;
  private State state = State.HEAD;
  private byte[] acc = new byte[512];
  private int accLen;
  private ByteBuffer pending;
  private boolean leadingCr;
  // The body being read.
  private boolean previewActive;
  private long previewBytes;
  private boolean lastChunkIeof;
  private List<Headers.Field> trailers;

  public IcapDecoder(Mode mode, Limits limits) {
    this.mode = mode;
    this.limits = limits;
    this.head = new IcapHeadParser(mode, limits);
    this.chunks = new Http1Framing(Http1Framing.Mode.CHUNKED,
        Http1Framing.Limits.chunked(limits.maxHeadBytes(), limits.maxHeaderCount(), limits.maxChunkSize()));
  }

  /** True between messages, when no byte of a next message has arrived. */
  public boolean idle() {
    return state == State.HEAD && accLen == 0 && !leadingCr;
  }

  /** True after an {@link Error}. */
  public boolean failed() {
    return state == State.FAILED;
  }

  /** Decodes what {@code in} holds (consuming all of it); returns the events it completes, in order. */
  public List<Event> feed(ByteBuffer in) {
    List<Event> out = new ArrayList<>(4);
    run(in, out);
    return out;
  }

  /** After a {@link PreviewEnd} and a 100 Continue: the rest of the body follows. */
  public List<Event> continueBody() {
    if (state == State.FAILED) {
      return List.of(); // the Error was already given (the client sent too much while we decided)
    }
    requirePause();
    startBody();
    return drainPending();
  }

  /** After a {@link PreviewEnd} answered with a final response: the client sends no more body; a new message follows. */
  public List<Event> skipBody() {
    if (state == State.FAILED) {
      return List.of();
    }
    requirePause();
    reset();
    return drainPending();
  }

  private void requirePause() {
    if (state != State.PREVIEW_PAUSE) {
      throw new IllegalStateException("no preview is waiting for an answer");
    }
  }

  private List<Event> drainPending() {
    List<Event> out = new ArrayList<>(4);
    ByteBuffer p = pending;
    pending = null;
    if (p != null) {
      p.flip();
      run(p, out);
    }
    return out;
  }

  private void run(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      switch (state) {
        case HEAD -> readHead(in, out);
        case HTTP_HEADS -> readHttpHeads(in, out);
        case BODY -> readBody(in, out);
        case PREVIEW_PAUSE -> stash(in, out);
        case FAILED -> {
          in.position(in.limit());
          return;
        }
      }
    }
  }

  private void fail(List<Event> out, String why) {
    out.add(new Error(why));
    state = State.FAILED;
    accLen = 0;
    pending = null;
  }

  private void reset() {
    state = State.HEAD;
    accLen = 0;
    head.reset();
    previewActive = false;
    previewBytes = 0;
  }

  private boolean endsWithBlankLine() {
    return accLen >= 4 && acc[accLen - 1] == '\n' && acc[accLen - 2] == '\r' && acc[accLen - 3] == '\n'
        && acc[accLen - 4] == '\r';
  }

  // ---- ICAP head -------------------------------------------------------------------------------------------------

  private void readHead(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      if (accLen == 0) {
        // Tolerate whole CRLFs between messages (RFC 9112 2.2), never a bare CR or LF.
        byte b = in.get(in.position());
        if (leadingCr) {
          leadingCr = false;
          if (b != '\n') {
            fail(out, "bare CR before the ICAP start line");
            return;
          }
          in.get();
          continue;
        }
        if (b == '\r') {
          leadingCr = true;
          in.get();
          continue;
        }
        if (b == '\n') {
          fail(out, "bare LF before the ICAP start line");
          return;
        }
      }
      // Up to and including the next LF, in one copy (byte by byte this was the decoder's largest cost).
      int room = limits.maxHeadBytes() - accLen;
      if (room <= 0) {
        fail(out, "ICAP header section is larger than " + limits.maxHeadBytes() + " bytes");
        return;
      }
      int pos = in.position();
      int end = Math.min(in.limit(), pos + room);
      int lf = -1;
      for (int i = pos; i < end; i++) {
        if (in.get(i) == '\n') {
          lf = i;
          break;
        }
      }
      int n = (lf < 0 ? end : lf + 1) - pos;
      take(in, n);
      if (lf >= 0) {
        if (accLen < 2 || acc[accLen - 2] != '\r') {
          fail(out, "bare LF in the ICAP header section");
          return;
        }
        if (endsWithBlankLine()) {
          parseIcapHead(out);
          return;
        }
      }
    }
  }

  /** Appends {@code in}'s next {@code n} bytes to the head gathered so far. */
  private void take(ByteBuffer in, int n) {
    if (accLen + n > acc.length) {
      acc = Arrays.copyOf(acc, Math.max(acc.length * 2, accLen + n));
    }
    in.get(acc, accLen, n);
    accLen += n;
  }

  private void parseIcapHead(List<Event> out) {
    String error = head.icapHead(acc, accLen - 4);
    if (error != null) {
      fail(out, error);
      return;
    }
    accLen = 0;
    state = State.HTTP_HEADS;
    if (head.httpHeadBytes() == 0) {
      finishHttpHeads(out);
    }
  }

  // ---- encapsulated HTTP heads -------------------------------------------------------------------------------------

  private void readHttpHeads(ByteBuffer in, List<Event> out) {
    int need = head.httpHeadBytes() - accLen;
    int n = Math.min(need, in.remaining());
    take(in, n);
    if (n == need) {
      finishHttpHeads(out);
    }
  }

  private void finishHttpHeads(List<Event> out) {
    String[] error = new String[1];
    IcapMessage message = head.message(acc, error);
    if (message == null) {
      fail(out, error[0]);
      return;
    }
    out.add(new Head(message));
    accLen = 0;
    if (!head.bodyKind.hasBody()) {
      out.add(new End(Headers.EMPTY));
      reset();
      return;
    }
    previewActive = mode == Mode.REQUEST && head.preview >= 0;
    previewBytes = 0;
    startBody();
  }

  // ---- chunked body ------------------------------------------------------------------------------------------------

  private void startBody() {
    state = State.BODY;
    trailers = null;
    chunks.startChunks();
  }

  /** Walks the body as far as the next event of the chunked walk: data, a chunk line, a trailer or the end. */
  private void readBody(ByteBuffer in, List<Event> out) {
    int pos = in.position();
    long before = chunks.examined();
    chunks.feed(in);
    int n = (int) (chunks.examined() - before);
    in.position(pos + n);
    if (chunks.failed()) {
      fail(out, bodyError(chunks.violation()));
      return;
    }
    int event = chunks.event();
    if ((event & Http1Framing.DATA) != 0) {
      int len = chunks.dataLength();
      out.add(new Body(in.slice(pos + n - len, len)));
    }
    if ((event & Http1Framing.CHUNK) != 0) {
      chunk(out);
    }
    if ((event & Http1Framing.FIELD) != 0) {
      if (trailers == null) {
        trailers = new ArrayList<>();
      }
      trailers.add(new Headers.Field(chunks.fieldName(), chunks.fieldValue()));
    }
    if ((event & Http1Framing.MESSAGE) != 0 && state == State.BODY) {
      endOfBody(out, trailers == null ? Headers.EMPTY : Headers.ofFields(trailers));
    }
  }

  /** A chunk line: ieof only on the last chunk of a preview, and no more data than the preview announced. */
  private void chunk(List<Event> out) {
    long size = chunks.chunkSize();
    boolean ieof = chunks.chunkExtension("ieof");
    if (size > 0) {
      if (ieof) {
        fail(out, "ieof on a chunk that carries data");
      } else if (previewActive && (previewBytes += size) > head.preview) {
        fail(out, "preview carries more than the " + head.preview + " bytes of its Preview header");
      }
      return;
    }
    if (ieof && !previewActive) {
      fail(out, "ieof outside a preview");
      return;
    }
    lastChunkIeof = ieof;
  }

  /** What is wrong with the body, in the decoder's words. */
  private String bodyError(Violation v) {
    boolean inTrailers = chunks.failedInTrailers();
    return switch (v) {
      case BARE_LF -> inTrailers ? "trailer line ends with a bare LF" : "chunk size line ends with a bare LF";
      case BARE_CR -> "bare CR or LF in the trailers";
      case CHUNK_LINE_TOO_LONG -> "chunk size line is longer than " + Http1Framing.MAX_CHUNK_LINE + " bytes";
      case HEAD_TOO_LARGE -> "trailer section is larger than " + limits.maxHeadBytes() + " bytes";
      case TOO_MANY_FIELDS -> "trailer header has more than " + limits.maxHeaderCount() + " fields";
      case CHUNK_SIZE_DIGITS -> "chunk size has more than 15 hex digits";
      case NO_CHUNK_SIZE -> "chunk size is not a hex number";
      case CHUNK_TOO_LARGE -> "chunk size " + chunks.chunkSize() + " is larger than " + limits.maxChunkSize();
      case BAD_CHUNK_EXTENSION -> "chunk extension is malformed";
      case NO_CRLF_AFTER_DATA -> "chunk data is not followed by CRLF";
      default -> IcapHeadParser.fieldError("trailer", v, chunks.failedLine());
    };
  }

  private void endOfBody(List<Event> out, Headers trailers) {
    accLen = 0;
    if (previewActive) {
      previewActive = false;
      if (lastChunkIeof) {
        out.add(new End(trailers));
        reset();
      } else {
        out.add(new PreviewEnd());
        state = State.PREVIEW_PAUSE;
      }
      return;
    }
    out.add(new End(trailers));
    reset();
  }

  private void stash(ByteBuffer in, List<Event> out) {
    int n = in.remaining();
    int held = pending == null ? 0 : pending.position();
    if (held + n > limits.maxHeadBytes() + limits.maxHttpHeadBytes()) {
      fail(out, "client sent more than the preview before an answer");
      return;
    }
    if (pending == null || pending.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(1024, (held + n) * 2));
      if (pending != null) {
        pending.flip();
        bigger.put(pending);
      }
      pending = bigger;
    }
    pending.put(in);
  }
}
