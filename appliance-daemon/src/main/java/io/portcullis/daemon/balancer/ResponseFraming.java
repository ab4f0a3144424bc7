package io.portcullis.daemon.balancer;

import java.nio.ByteBuffer;

/**
 * The framing of the responses a server sends on one connection (RFC 9112 6.3), walked byte by byte as an explicit
 * state machine, so that a relay knows where each head and each message ends without decoding them: a status line and
 * headers, then a body by Content-Length, by chunks (with trailers), until the close, or none (HEAD, 1xx, 204, 304).
 * A 2xx to CONNECT and a 101 turn the connection into a tunnel. {@link #feed} stops right after each head and each
 * message ({@link #event()}); a violation becomes a result ({@link #failed()}, {@link #reason()}), never an exception.
 * Servers are trusted more than clients, yet what decides framing is checked: one Content-Length (or equal copies),
 * digits only, never beside Transfer-Encoding, CRLF after each chunk, a head no larger than its limit.
 */
final class ResponseFraming {
  /** {@link #event()}: the feed stopped right after a head (interim or final). */
  static final int HEAD = 1;
  /** {@link #event()}: the feed stopped right after a message's last byte. */
  static final int MESSAGE = 2;

  private enum State { LINE, HEADERS, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CR, CHUNK_LF, TRAILERS, UNTIL_CLOSE, TUNNEL,
    DONE, FAILED }

  private static final int MAX_CHUNK_LINE = 4096;

  private final int maxHead;
  private State state = State.DONE;
  private boolean requestHead;
  private boolean requestConnect;
  private byte[] line = new byte[256];
  private int lineLen;
  private boolean sawCr;
  private int headBytes;
  private long examined;
  private int event;
  private String reason;
  // What the head said.
  private int status;
  private boolean http11;
  private boolean close;
  private boolean keepAlive;
  private long contentLength;
  private boolean lengthSeen;
  private boolean chunked;
  private boolean transferEncoding;
  private long remaining;
  private boolean interimHead; // the last head that ended was interim (its fields are reset for the next head)

  ResponseFraming(int maxHead) {
    this.maxHead = maxHead;
  }

  /** Readies the walk for the response to a request with this method: HEAD has no body, CONNECT's 2xx a tunnel. */
  void expect(boolean head, boolean connect) {
    requestHead = head;
    requestConnect = connect;
    startHead();
  }

  private void startHead() {
    state = State.LINE;
    lineLen = 0;
    sawCr = false;
    headBytes = 0;
    status = 0;
    http11 = false;
    close = false;
    keepAlive = false;
    contentLength = 0;
    lengthSeen = false;
    chunked = false;
    transferEncoding = false;
  }

  /** Examines {@code b}'s remaining bytes (its position stays) until they are used up or a boundary is reached. */
  void feed(ByteBuffer b) {
    int i = b.position();
    int to = b.limit();
    event = 0;
    while (i < to && event == 0) {
      switch (state) {
        case UNTIL_CLOSE, TUNNEL -> {
          examined += to - i;
          return;
        }
        case DONE -> {
          fail("bytes after the end of the response");
          return;
        }
        case FAILED -> {
          return;
        }
        case BODY, CHUNK_DATA -> {
          int n = (int) Math.min(remaining, to - i);
          i += n;
          examined += n;
          remaining -= n;
          if (remaining == 0) {
            if (state == State.BODY) {
              endOfMessage();
            } else {
              state = State.CHUNK_CR;
            }
          }
        }
        case CHUNK_CR, CHUNK_LF -> {
          byte x = b.get(i++);
          examined++;
          if (state == State.CHUNK_CR && x == '\r') {
            state = State.CHUNK_LF;
          } else if (state == State.CHUNK_LF && x == '\n') {
            state = State.CHUNK_SIZE;
          } else {
            fail("chunk data is not followed by CRLF");
          }
        }
        default -> i = lineByte(b.get(i), i);
      }
    }
  }

  /** Bytes examined since the start. */
  long examined() {
    return examined;
  }

  /** What the last feed stopped at: 0 (it used up its bytes), or {@link #HEAD} and/or {@link #MESSAGE}. */
  int event() {
    return event;
  }

  boolean failed() {
    return state == State.FAILED;
  }

  String reason() {
    return reason;
  }

  /** The last head's status. */
  int status() {
    return status;
  }

  /** The last head was an interim response (1xx but 101): the final one follows. */
  boolean interim() {
    return interimHead;
  }

  /** The last head turned the connection into a tunnel (101, or 2xx to CONNECT). */
  boolean tunnel() {
    return state == State.TUNNEL;
  }

  /** The body ends when the server closes (no length, no chunks): the connection cannot be kept. */
  boolean closeDelimited() {
    return state == State.UNTIL_CLOSE;
  }

  /** The server keeps the connection after this response (HTTP/1.1 without close, HTTP/1.0 with keep-alive). */
  boolean persistent() {
    return http11 ? !close : keepAlive && !close;
  }

  /** Ends a close-delimited body: the server closed, which is its end. */
  void closed() {
    if (state == State.UNTIL_CLOSE) {
      state = State.DONE;
    }
  }

  private int lineByte(byte x, int i) {
    examined++;
    if (sawCr) {
      if (x != '\n') {
        fail("bare CR");
        return i + 1;
      }
      sawCr = false;
      endOfLine();
      lineLen = 0;
      return i + 1;
    }
    if (x == '\r') {
      sawCr = true;
      return i + 1;
    }
    if (x == '\n') {
      fail("bare LF");
      return i + 1;
    }
    if (state == State.CHUNK_SIZE) {
      if (lineLen >= MAX_CHUNK_LINE) {
        fail("chunk size line longer than " + MAX_CHUNK_LINE + " bytes");
        return i + 1;
      }
    } else if (++headBytes > maxHead) {
      fail("response head larger than " + maxHead + " bytes");
      return i + 1;
    }
    if (lineLen == line.length) {
      byte[] bigger = new byte[line.length * 2];
      System.arraycopy(line, 0, bigger, 0, lineLen);
      line = bigger;
    }
    line[lineLen++] = x;
    return i + 1;
  }

  private void endOfLine() {
    switch (state) {
      case LINE -> statusLine();
      case HEADERS -> {
        if (lineLen == 0) {
          endOfHead();
        } else {
          header();
        }
      }
      case CHUNK_SIZE -> chunkSize();
      case TRAILERS -> {
        if (lineLen == 0) {
          endOfMessage();
        }
      }
      default -> throw new IllegalStateException(state.name());
    }
  }

  /** HTTP/1.x SP 3DIGIT [SP reason]. */
  private void statusLine() {
    if (lineLen < 12 || !startsWith("HTTP/1.") || (line[7] != '0' && line[7] != '1') || line[8] != ' '
        || !digit(line[9]) || !digit(line[10]) || !digit(line[11]) || (lineLen > 12 && line[12] != ' ')) {
      fail("not an HTTP/1.x status line");
      return;
    }
    http11 = line[7] == '1';
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (status < 100) {
      fail("status " + status);
      return;
    }
    state = State.HEADERS;
  }

  private void header() {
    if (line[0] == ' ' || line[0] == '\t') {
      fail("obsolete line folding");
      return;
    }
    int colon = -1;
    for (int k = 0; k < lineLen; k++) {
      if (line[k] == ':') {
        colon = k;
        break;
      }
      if (line[k] == ' ' || line[k] == '\t') {
        fail("whitespace in a header name");
        return;
      }
    }
    if (colon <= 0) {
      fail("header line without a name and colon");
      return;
    }
    if (nameIs("content-length", colon)) {
      long n = number(colon + 1);
      if (n < 0 || (lengthSeen && n != contentLength)) {
        fail(n < 0 ? "Content-Length is not a byte count" : "Content-Lengths that differ");
        return;
      }
      lengthSeen = true;
      contentLength = n;
    } else if (nameIs("transfer-encoding", colon)) {
      transferEncoding = true;
      chunked = lastTokenIs("chunked", colon + 1); // RFC 9112 6.3: chunked last, else the body runs to the close
    } else if (nameIs("connection", colon)) {
      close |= hasToken("close", colon + 1);
      keepAlive |= hasToken("keep-alive", colon + 1);
    }
  }

  private void endOfHead() {
    event |= HEAD;
    interimHead = status >= 100 && status < 200 && status != 101;
    if (status == 101 || (requestConnect && status >= 200 && status < 300)) {
      state = State.TUNNEL;
      return;
    }
    if (interimHead) {
      event |= MESSAGE; // the final response follows, framed afresh
      startHead();
      return;
    }
    if (requestHead || status == 204 || status == 304) {
      endOfMessage();
      return;
    }
    if (transferEncoding && lengthSeen) {
      fail("both Content-Length and Transfer-Encoding");
    } else if (transferEncoding) {
      state = chunked ? State.CHUNK_SIZE : State.UNTIL_CLOSE;
    } else if (lengthSeen) {
      if (contentLength == 0) {
        endOfMessage();
      } else {
        state = State.BODY;
        remaining = contentLength;
      }
    } else {
      state = State.UNTIL_CLOSE;
    }
  }

  private void chunkSize() {
    int k = 0;
    long size = 0;
    while (k < lineLen && hex(line[k]) >= 0) {
      if (k == 16) {
        fail("chunk size longer than 16 hex digits");
        return;
      }
      size = size * 16 + hex(line[k]);
      k++;
    }
    if (k == 0 || size < 0 || (k < lineLen && line[k] != ';' && line[k] != ' ' && line[k] != '\t')) {
      fail("invalid chunk size");
      return;
    }
    if (size == 0) {
      state = State.TRAILERS;
      headBytes = 0;
    } else {
      state = State.CHUNK_DATA;
      remaining = size;
    }
  }

  private void endOfMessage() {
    state = State.DONE;
    event |= MESSAGE;
  }

  private void fail(String why) {
    reason = why;
    state = State.FAILED;
  }

  private boolean startsWith(String s) {
    for (int k = 0; k < s.length(); k++) {
      if (line[k] != s.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  private boolean nameIs(String lower, int colon) {
    return Heads.is(line, 0, colon, lower);
  }

  /** The value from {@code k} on as a non-negative number (OWS around it), or -1. */
  private long number(int k) {
    int end = lineLen;
    while (k < end && (line[k] == ' ' || line[k] == '\t')) {
      k++;
    }
    while (end > k && (line[end - 1] == ' ' || line[end - 1] == '\t')) {
      end--;
    }
    if (k == end || end - k > 18) {
      return -1;
    }
    long n = 0;
    for (; k < end; k++) {
      if (!digit(line[k])) {
        return -1;
      }
      n = n * 10 + (line[k] - '0');
    }
    return n;
  }

  /** Whether the comma-separated value from {@code k} on lists {@code lower} (case-insensitive). */
  private boolean hasToken(String lower, int k) {
    while (k < lineLen) {
      while (k < lineLen && (line[k] == ' ' || line[k] == '\t' || line[k] == ',')) {
        k++;
      }
      int start = k;
      while (k < lineLen && line[k] != ',' && line[k] != ' ' && line[k] != '\t') {
        k++;
      }
      if (tokenIs(lower, start, k)) {
        return true;
      }
    }
    return false;
  }

  private boolean lastTokenIs(String lower, int k) {
    int end = lineLen;
    while (end > k && (line[end - 1] == ' ' || line[end - 1] == '\t')) {
      end--;
    }
    int start = end;
    while (start > k && line[start - 1] != ',' && line[start - 1] != ' ' && line[start - 1] != '\t') {
      start--;
    }
    return tokenIs(lower, start, end);
  }

  private boolean tokenIs(String lower, int start, int end) {
    return Heads.is(line, start, end, lower);
  }

  private static boolean digit(byte b) {
    return b >= '0' && b <= '9';
  }

  private static int hex(byte b) {
    if (b >= '0' && b <= '9') {
      return b - '0';
    }
    if (b >= 'a' && b <= 'f') {
      return b - 'a' + 10;
    }
    if (b >= 'A' && b <= 'F') {
      return b - 'A' + 10;
    }
    return -1;
  }
}
