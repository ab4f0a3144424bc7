package io.portcullis.daemon.http1;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The framing of the HTTP/1 messages on one connection, walked byte by byte as one explicit state machine (after
 * Netty's HttpObjectDecoder and HAProxy's h1 parser), so that a forwarder knows where each head and each message ends
 * without decoding them. Bytes are examined, never kept or changed; a violation becomes a result ({@link #failed()},
 * {@link #violation()}, {@link #reason()}), never an exception, and nothing after it is read. Three modes:
 * <ul>
 * <li>{@link Mode#REQUEST}: a client's requests, strictly (RFC 9112: smuggling lives in leniency): a sound request
 * line, CRLF only, tchar names, no obs-fold or controls, one Content-Length or chunked alone, one Host in HTTP/1.1,
 * CONNECT to host:port and a tunnel after it; {@link #feed} says how many bytes may go on.
 * <li>{@link Mode#RESPONSE}: a server's responses to the requests {@link #expect}ed (RFC 9112 6.3): bodies by length,
 * chunks, to the close or none (HEAD, 1xx, 204, 304), tunnels after 101 or a CONNECT's 2xx. Servers are trusted
 * more: what decides framing is checked, not the rest.
 * <li>{@link Mode#CHUNKED}: a chunked body alone, as ICAP embeds one: {@link #DATA}, {@link #CHUNK} and
 * {@link #FIELD} (each trailer) are told, so that the embedding protocol can take the data and check extensions.
 * </ul>
 */
public final class Http1Framing {
  /** Whose messages are walked. */
  public enum Mode { REQUEST, RESPONSE, CHUNKED }

  /**
   * Bounds, in bytes without CRLF unless said: the start line, one field line, the head's fields (a response's: its
   * status line too; CHUNKED: the trailers with their CRLFs), the fields of a head, a chunk-size line, a chunk.
   */
  public record Limits(int maxStartLine, int maxFieldLine, int maxHeadBytes, int maxFields, int maxChunkLine,
      long maxChunkSize) {
    /** A client's: the request line (414), each field line and the fields together (431), the field count (431). */
    public static Limits request(int maxRequestLine, int maxHeaderBytes, int maxHeaders) {
      return new Limits(maxRequestLine, maxHeaderBytes, maxHeaderBytes, maxHeaders, MAX_CHUNK_LINE, 1L << 62);
    }

    /** A server's: its head, status line and fields together, and each trailer section alike. */
    public static Limits response(int maxHead) {
      return new Limits(Integer.MAX_VALUE, Integer.MAX_VALUE, maxHead, Integer.MAX_VALUE, MAX_CHUNK_LINE,
          Long.MAX_VALUE);
    }

    /** ICAP's: the trailers with their CRLFs, their count, the chunk size; a chunk line of 4096 bytes with CRLF. */
    public static Limits chunked(int maxTrailerBytes, int maxTrailers, long maxChunkSize) {
      return new Limits(0, Integer.MAX_VALUE, maxTrailerBytes, maxTrailers, MAX_CHUNK_LINE - 2, maxChunkSize);
    }
  }

  /** {@link #event()}: the feed stopped right after a head (interim or final). */
  public static final int HEAD = 1;
  /** {@link #event()}: the feed stopped right after a message's last byte. */
  public static final int MESSAGE = 2;
  /** {@link #event()}: the last {@link #dataLength()} bytes examined were body data. */
  public static final int DATA = 4;
  /** {@link #event()}: a chunk-size line ended ({@link #chunkSize()}, {@link #chunkExtension}). */
  public static final int CHUNK = 8;
  /** {@link #event()}: a trailer field ended ({@link #fieldName()}, {@link #fieldValue()}). */
  public static final int FIELD = 16;

  /** A chunk-size line's bound: no sound extension comes near it. */
  public static final int MAX_CHUNK_LINE = 4096;

  private enum State { START, HEADERS, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CR, CHUNK_LF, TRAILERS, UNTIL_CLOSE, TUNNEL,
    DONE, FAILED }

  private final Mode mode;
  private final Limits limits;
  private final Fields.Rules rules;
  private int stops; // the events a feed stops at
  private State state;
  private final Head head = new Head();
  // The line being read, without CRLF; after it ended, lastLen is its length (the next line starts at 0 again).
  private byte[] line = new byte[256];
  private int lineLen;
  private int lastLen;
  private boolean sawCr;
  private int headBytes;
  private int fields;
  private long remaining;
  private long examined;
  private long released;
  private long bodies;
  private int event;
  private int dataLength;
  private long chunkSize;
  private int fieldColon;
  private boolean requestHead; // RESPONSE: the request was a HEAD, or a CONNECT
  private boolean requestConnect;
  private boolean interim;
  private Violation violation;
  private String reason;
  private State failedIn;

  /** A walk of {@code mode}'s messages within {@code limits}; a RESPONSE walk starts at {@link #expect}. */
  public Http1Framing(Mode mode, Limits limits) {
    this.mode = mode;
    this.limits = limits;
    this.rules = switch (mode) {
      case REQUEST -> Fields.Rules.STRICT;
      case RESPONSE -> Fields.Rules.TRUSTED;
      case CHUNKED -> Fields.Rules.EMBEDDED;
    };
    this.stops = switch (mode) {
      case REQUEST -> 0;
      case RESPONSE -> HEAD | MESSAGE;
      case CHUNKED -> MESSAGE | DATA | CHUNK | FIELD;
    };
    this.state = mode == Mode.REQUEST ? State.START : State.DONE;
  }

  /**
   * REQUEST: from now on {@link #feed} stops after each head and each message, so that a relay can act there (rewrite
   * the head, pick a server, hold a pipelined request).
   */
  public Http1Framing stopAtBoundaries() {
    stops = HEAD | MESSAGE;
    return this;
  }

  /** RESPONSE: readies the walk for the answer to a request: HEAD has no body, CONNECT's 2xx makes a tunnel. */
  public void expect(boolean head, boolean connect) {
    requestHead = head;
    requestConnect = connect;
    startHead();
  }

  /** CHUNKED: readies the walk for a chunked body (or the rest of one, after an ICAP preview). */
  public void startChunks() {
    state = State.CHUNK_SIZE;
    lineLen = 0;
    sawCr = false;
  }

  /** Examines {@code b}'s remaining bytes (its position stays); returns the count since the start that may go on. */
  public long feed(ByteBuffer b) {
    int i = b.position();
    int to = b.limit();
    event = 0;
    while (i < to && (event & stops) == 0) {
      switch (state) {
        case TUNNEL, UNTIL_CLOSE -> {
          examined += to - i;
          released = examined;
          return released;
        }
        case DONE -> {
          if (mode == Mode.RESPONSE) {
            fail(Violation.AFTER_END);
          }
          return released;
        }
        case FAILED -> {
          return released;
        }
        case BODY, CHUNK_DATA -> i = data(i, to);
        case CHUNK_CR, CHUNK_LF -> i = crlf(b.get(i), i);
        default -> i = lineBytes(b, i, to);
      }
    }
    return released;
  }

  /** Body bytes are counted, not examined: they go on as they come. */
  private int data(int i, int to) {
    int n = (int) Math.min(remaining, to - i);
    examined += n;
    remaining -= n;
    released = examined;
    dataLength = n;
    event |= DATA;
    if (remaining == 0) {
      if (state == State.BODY) {
        endOfMessage();
      } else {
        state = State.CHUNK_CR;
      }
    }
    return i + n;
  }

  private int crlf(byte x, int i) {
    examined++;
    if (state == State.CHUNK_CR && x == '\r') {
      state = State.CHUNK_LF;
    } else if (state == State.CHUNK_LF && x == '\n') {
      state = State.CHUNK_SIZE;
      released = examined;
    } else {
      fail(Violation.NO_CRLF_AFTER_DATA);
    }
    return i + 1;
  }

  /** Reads line bytes from {@code i}: up to the CR or LF, in one copy, within the limits; returns the next index. */
  private int lineBytes(ByteBuffer b, int i, int to) {
    if (sawCr) {
      examined++;
      if (b.get(i) != '\n') {
        fail(Violation.BARE_CR);
      } else if (crlfCounts()) {
        sawCr = false;
        endOfLine();
      }
      return i + 1;
    }
    int lineMax = switch (state) {
      case START -> limits.maxStartLine();
      case CHUNK_SIZE -> limits.maxChunkLine();
      default -> limits.maxFieldLine();
    };
    boolean counted = state == State.HEADERS || state == State.TRAILERS
        || (state == State.START && mode == Mode.RESPONSE);
    int lineRoom = lineMax - lineLen;
    int headRoom = counted ? limits.maxHeadBytes() - headBytes : Integer.MAX_VALUE;
    int room = Math.min(lineRoom, headRoom);
    int end = (int) Math.min(to, (long) i + room + 1); // one past the room: a byte there breaks a limit
    int k = i;
    byte x = 0;
    while (k < end && (x = b.get(k)) != '\r' && x != '\n') {
      k++;
    }
    int n = k - i;
    if (n > room) {
      examined += room + 1;
      fail(lineRoom <= headRoom ? lineTooLong() : Violation.HEAD_TOO_LARGE);
      return i + room + 1;
    }
    if (lineLen + n > line.length) {
      byte[] bigger = new byte[Math.max(line.length * 2, lineLen + n)];
      System.arraycopy(line, 0, bigger, 0, lineLen);
      line = bigger;
    }
    b.get(i, line, lineLen, n);
    lineLen += n;
    examined += n;
    if (counted) {
      headBytes += n;
    }
    if (k == to) {
      return k;
    }
    examined++;
    if (x == '\n') {
      fail(Violation.BARE_LF);
    } else if (crlfCounts()) {
      sawCr = true;
    }
    return k + 1;
  }

  /** CHUNKED trailers count their CR and LF bytes too (as ICAP always has); false if that breaks the limit. */
  private boolean crlfCounts() {
    if (mode == Mode.CHUNKED && state == State.TRAILERS && ++headBytes > limits.maxHeadBytes()) {
      fail(Violation.HEAD_TOO_LARGE);
      return false;
    }
    return true;
  }

  private Violation lineTooLong() {
    return switch (state) {
      case START -> Violation.REQUEST_LINE_TOO_LONG;
      case HEADERS -> Violation.FIELD_LINE_TOO_LONG;
      case CHUNK_SIZE -> Violation.CHUNK_LINE_TOO_LONG;
      default -> Violation.TRAILER_LINE_TOO_LONG;
    };
  }

  private void endOfLine() {
    lastLen = lineLen;
    lineLen = 0;
    switch (state) {
      case START -> {
        if (lastLen == 0 && mode == Mode.REQUEST) {
          released = examined; // RFC 9112 2.2: an empty line before a request line is ignored
        } else {
          startLine();
        }
      }
      case HEADERS -> {
        if (lastLen == 0) {
          endOfHead();
        } else {
          field(false);
        }
      }
      case CHUNK_SIZE -> chunkLine();
      case TRAILERS -> {
        if (lastLen == 0) {
          released = examined;
          endOfMessage();
        } else {
          field(true);
        }
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  private void startLine() {
    Violation v = mode == Mode.REQUEST ? head.requestLine(line, lastLen) : head.statusLine(line, lastLen);
    if (v != null) {
      fail(v);
      return;
    }
    state = State.HEADERS;
    headBytes = mode == Mode.RESPONSE ? headBytes : 0;
    fields = 0;
    head.reset();
  }

  private void field(boolean trailer) {
    int colon = mode == Mode.RESPONSE && trailer ? 0 : Fields.check(line, 0, lastLen, rules);
    if (colon < 0) {
      fail(Violation.of(colon));
      return;
    }
    if (mode != Mode.RESPONSE && ++fields > limits.maxFields()) {
      fail(Violation.TOO_MANY_FIELDS);
      return;
    }
    if (trailer) {
      // Trailers do not frame the message (RFC 9110 6.5.1); an embedding protocol takes them.
      fieldColon = colon;
      event |= mode == Mode.CHUNKED ? FIELD : 0;
      return;
    }
    Violation v = mode == Mode.REQUEST ? head.requestField(line, colon, lastLen)
        : head.responseField(line, colon, lastLen);
    if (v != null) {
      fail(v);
    }
  }

  private void endOfHead() {
    if (mode == Mode.REQUEST) {
      endOfRequestHead();
      return;
    }
    event |= HEAD;
    int status = head.status;
    interim = status >= 100 && status < 200 && status != 101;
    if (status == 101 || (requestConnect && status >= 200 && status < 300)) {
      state = State.TUNNEL;
    } else if (interim) {
      event |= MESSAGE; // the final response follows, framed afresh
      startHead();
    } else if (requestHead || status == 204 || status == 304) {
      endOfMessage();
    } else if (head.transferEncodings > 0 && head.contentLengths > 0) {
      fail(Violation.LENGTH_AND_CODING);
    } else if (head.transferEncodings > 0) {
      state = head.chunked ? State.CHUNK_SIZE : State.UNTIL_CLOSE;
    } else if (head.contentLengths > 0) {
      body(head.contentLength);
    } else {
      state = State.UNTIL_CLOSE;
    }
  }

  private void endOfRequestHead() {
    Violation v = head.endOfRequest();
    if (v != null) {
      fail(v);
      return;
    }
    released = examined;
    event |= HEAD;
    if (head.connect) {
      state = State.TUNNEL; // what follows is the tunnel's (or nothing, if the CONNECT is refused and closed)
    } else if (head.chunked) {
      state = State.CHUNK_SIZE;
      bodies++;
    } else if (head.contentLength > 0) {
      bodies++;
      body(head.contentLength);
    } else {
      endOfMessage();
    }
  }

  private void body(long length) {
    if (length == 0) {
      endOfMessage();
    } else {
      state = State.BODY;
      remaining = length;
    }
  }

  private void chunkLine() {
    long size = ChunkLine.parse(line, 0, lastLen, maxDigits(), limits.maxChunkSize(), extensions());
    if (size < 0) {
      chunkSize = ChunkLine.size(line, 0, lastLen);
      fail(Violation.of(size));
      return;
    }
    chunkSize = size;
    released = examined;
    event |= CHUNK;
    if (size == 0) {
      state = State.TRAILERS;
      headBytes = 0;
      fields = 0;
    } else {
      state = State.CHUNK_DATA;
      remaining = size;
    }
  }

  private int maxDigits() {
    return mode == Mode.CHUNKED ? 15 : 16;
  }

  private ChunkLine.Extensions extensions() {
    return switch (mode) {
      case REQUEST -> ChunkLine.Extensions.STRICT;
      case RESPONSE -> ChunkLine.Extensions.SKIPPED;
      case CHUNKED -> ChunkLine.Extensions.TOLERANT;
    };
  }

  private void startHead() {
    state = State.START;
    lineLen = 0;
    sawCr = false;
    headBytes = 0;
    head.reset();
    head.status = 0;
    head.http11 = false;
  }

  private void endOfMessage() {
    state = mode == Mode.REQUEST ? State.START : State.DONE;
    event |= MESSAGE;
  }

  private void fail(Violation v) {
    if (v == Violation.BARE_CR && mode == Mode.CHUNKED && state == State.CHUNK_SIZE) {
      // ICAP judges a chunk line whole: a CR in it breaks its size or its extensions.
      long r = ChunkLine.parse(line, 0, lineLen, maxDigits(), limits.maxChunkSize(), extensions());
      v = r < 0 ? Violation.of(r) : Violation.BAD_CHUNK_EXTENSION;
      chunkSize = ChunkLine.size(line, 0, lineLen);
    }
    violation = v;
    failedIn = state;
    Object detail = switch (v) {
      case REQUEST_LINE_TOO_LONG -> limits.maxStartLine();
      case FIELD_LINE_TOO_LONG, TRAILER_LINE_TOO_LONG -> limits.maxFieldLine();
      case CHUNK_LINE_TOO_LONG -> limits.maxChunkLine();
      case HEAD_TOO_LARGE -> limits.maxHeadBytes();
      case TOO_MANY_FIELDS -> limits.maxFields();
      case CHUNK_SIZE_DIGITS -> maxDigits();
      default -> head.detail;
    };
    reason = v.reason(mode, detail);
    state = State.FAILED;
  }

  /** What the last feed stopped at: 0 (it used up its bytes), or {@link #HEAD}, {@link #MESSAGE} and the like. */
  public int event() {
    return event;
  }

  /** Bytes examined since the start. */
  public long examined() {
    return examined;
  }

  /** True once a violation was found; nothing more is read. */
  public boolean failed() {
    return state == State.FAILED;
  }

  /** The violation found, or null. */
  public Violation violation() {
    return violation;
  }

  /** The violation in this mode's words, with the limit or value it names; null while none. */
  public String reason() {
    return reason;
  }

  /** The status a request refused for the violation gets (400, 414, 431, 505). */
  public int status() {
    return violation == null ? 0 : violation.status();
  }

  /** True if the violation lies in a body's framing (chunk lines, trailers), after its head went on. */
  public boolean failedInBody() {
    return failedIn != null && inBody(failedIn);
  }

  /** True if the violation lies in the trailers. */
  public boolean failedInTrailers() {
    return failedIn == State.TRAILERS;
  }

  /** The line the violation was found in (CRLF excluded), as far as it was read. */
  public String failedLine() {
    return new String(line, 0, lineLen > 0 ? lineLen : lastLen, StandardCharsets.ISO_8859_1);
  }

  /** REQUEST: true while the bytes held back belong to a head that has begun (a header timeout applies). */
  public boolean inHead() {
    return (state == State.START && examined > released) || state == State.HEADERS;
  }

  /** True in a body or its framing, where a bad byte fails the message after its head went on. */
  public boolean inBody() {
    return inBody(state);
  }

  private static boolean inBody(State s) {
    return s == State.BODY || s == State.CHUNK_SIZE || s == State.CHUNK_DATA || s == State.CHUNK_CR
        || s == State.CHUNK_LF || s == State.TRAILERS;
  }

  /** REQUEST: how many bodies have begun on this connection (a new one restarts the body clock). */
  public long bodies() {
    return bodies;
  }

  /** REQUEST: the last head was HTTP/1.1; RESPONSE: the last status line was. */
  public boolean http11() {
    return head.http11;
  }

  /** REQUEST: the last head was a CONNECT (the bytes after it are the tunnel's). */
  public boolean connect() {
    return head.connect;
  }

  /** RESPONSE: the last head's status. */
  public int responseStatus() {
    return head.status;
  }

  /** RESPONSE: the last head was interim (1xx but 101): the final one follows. */
  public boolean interim() {
    return interim;
  }

  /** RESPONSE: the last head turned the connection into a tunnel (101, or 2xx to CONNECT). */
  public boolean tunnel() {
    return state == State.TUNNEL;
  }

  /** RESPONSE: the body ends when the server closes (no length, no chunks): the connection cannot be kept. */
  public boolean closeDelimited() {
    return state == State.UNTIL_CLOSE;
  }

  /** RESPONSE: the server keeps the connection (HTTP/1.1 without close, HTTP/1.0 with keep-alive). */
  public boolean persistent() {
    return head.http11 ? !head.close : head.keepAlive && !head.close;
  }

  /** RESPONSE: the server closed, which ends a close-delimited body. */
  public void closed() {
    if (state == State.UNTIL_CLOSE) {
      state = State.DONE;
    }
  }

  /** After {@link #DATA}: how many of the last bytes examined were data. */
  public int dataLength() {
    return dataLength;
  }

  /** After {@link #CHUNK}: the chunk's size (0: the last chunk); after a size violation, the size it read. */
  public long chunkSize() {
    return chunkSize;
  }

  /** After {@link #CHUNK}: whether the chunk line has an extension named {@code lower}. */
  public boolean chunkExtension(String lower) {
    return ChunkLine.hasExtension(line, 0, lastLen, lower);
  }

  /** After {@link #FIELD}: the trailer's name. */
  public String fieldName() {
    return new String(line, 0, fieldColon, StandardCharsets.ISO_8859_1);
  }

  /** After {@link #FIELD}: the trailer's value, without the whitespace around it. */
  public String fieldValue() {
    int vs = Fields.valueStart(line, fieldColon, lastLen, rules);
    int ve = Fields.valueEnd(line, vs, lastLen, rules);
    return new String(line, vs, ve - vs, StandardCharsets.ISO_8859_1);
  }
}
