package io.portcullis.daemon.proxy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A strict RFC 9112 check of the bytes a client sends the proxy, kept apart from the HTTP decoder that parses them.
 * Netty's decoder is lenient (it drops Content-Length beside Transfer-Encoding, unfolds obs-fold, takes bare LF),
 * and leniency is where request smuggling lives. This state machine walks every message's framing (request line,
 * headers, Content-Length or chunked body, trailers) and says how many bytes may go on to the decoder: a message's
 * head only once it is whole and sound, body bytes as they come. The first violation ends the walk with a status
 * (400, 414, 431, 505) and a reason; nothing after it is passed on. No Netty or Vert.x types: testable alone.
 *
 * <p>Sound means: a tchar method, one SP, a target without controls or spaces, one SP, HTTP/1.0 or HTTP/1.1, CRLF
 * line ends only, header names of tchars right before the colon, no obs-fold, no control characters, at most one
 * Content-Length (digits only), Transfer-Encoding only as exactly {@code chunked} (HTTP/1.1) and never beside
 * Content-Length, exactly one Host in HTTP/1.1, CONNECT to host:port without a body, chunk sizes of 1 to 16 hex
 * digits, extensions without bare CR or LF, CRLF after each chunk's data, trailers as sound as headers.
 */
public final class RequestFraming {
  /** Limits on one message's head. */
  public record Limits(int maxRequestLine, int maxHeaderBytes, int maxHeaders) {
  }

  private enum State { LINE, HEADERS, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_CR, CHUNK_LF, TRAILERS, TUNNEL, FAILED }

  private static final int MAX_CHUNK_LINE = 4096;
  private static final boolean[] TCHAR = new boolean[128];

  static {
    for (char c = '0'; c <= '9'; c++) {
      TCHAR[c] = true;
    }
    for (char c = 'a'; c <= 'z'; c++) {
      TCHAR[c] = true;
      TCHAR[c - 32] = true;
    }
    for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
      TCHAR[c] = true;
    }
  }

  private final Limits limits;
  private State state = State.LINE;
  private long bodies;
  // The line being read (request line, header, chunk size or trailer), without its CRLF.
  private byte[] line = new byte[256];
  private int lineLen;
  private boolean sawCr;
  private int headBytes;
  private int headers;
  // What the head said.
  private boolean http11;
  private boolean connect;
  private int contentLengths;
  private long contentLength;
  private int transferEncodings;
  private boolean chunked;
  private int hosts;
  private long remaining;
  // Bytes examined so far and how many of them may go on.
  private long examined;
  private long released;
  private int status;
  private String reason;
  private boolean failedInBody;
  // Boundary mode (a relay that frames messages itself): feed stops right after a head and after a message's end.
  private boolean stopAtBoundaries;
  private int event;

  /** {@link #event()}: the last feed stopped right after a message's head (the body, if any, follows). */
  public static final int HEAD = 1;
  /** {@link #event()}: the last feed stopped right after a message's last byte. */
  public static final int MESSAGE = 2;

  public RequestFraming(Limits limits) {
    this.limits = limits;
  }

  /**
   * From now on, {@link #feed} stops after the last byte of each head and of each message, so that a relay can act
   * there (rewrite the head, pick a server, hold a pipelined request); {@link #event()} says which it stopped at and
   * {@link #examined()} how far it got.
   */
  public RequestFraming stopAtBoundaries() {
    stopAtBoundaries = true;
    return this;
  }

  /** What the last feed stopped at: 0 (it used up its bytes), or {@link #HEAD} and/or {@link #MESSAGE}. */
  public int event() {
    return event;
  }

  /** Bytes examined since the start. */
  public long examined() {
    return examined;
  }

  /** Of the last head: whether it was HTTP/1.1, and whether a CONNECT (the bytes after it are the tunnel's). */
  public boolean http11() {
    return http11;
  }

  public boolean connect() {
    return connect;
  }

  /** Examines {@code b}'s remaining bytes (its position stays); returns the count of bytes since the start that may go on. */
  public long feed(ByteBuffer b) {
    int i = b.position();
    int to = b.limit();
    event = 0;
    while (i < to && state != State.FAILED && (event == 0 || !stopAtBoundaries)) {
      switch (state) {
        case TUNNEL -> {
          examined += to - i;
          released = examined;
          return released;
        }
        case BODY, CHUNK_DATA -> {
          // Body bytes are not examined, only counted: they go on as they come.
          int n = (int) Math.min(remaining, to - i);
          i += n;
          examined += n;
          remaining -= n;
          released = examined;
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
            released = examined;
          } else {
            fail(400, "chunk data is not followed by CRLF");
          }
        }
        default -> i = lineByte(b, i);
      }
    }
    return released;
  }

  /** True once a violation was found; {@link #status()} and {@link #reason()} tell which. */
  public boolean failed() {
    return state == State.FAILED;
  }

  public int status() {
    return status;
  }

  public String reason() {
    return reason;
  }

  /** True if the violation lies in a body's framing (chunk sizes, trailers), after its head went on. */
  public boolean failedInBody() {
    return failedInBody;
  }

  /** True while the bytes held back belong to a message head that has begun (a header timeout applies). */
  public boolean inHead() {
    return (state == State.LINE && examined > released) || state == State.HEADERS;
  }

  /** How many request bodies have begun on this connection (a new one resets the body clock). */
  public long bodies() {
    return bodies;
  }

  /** True in a chunked body's framing, where a bad byte must fail the decoder as a bad chunk. */
  public boolean inBody() {
    return state == State.BODY || state == State.CHUNK_SIZE || state == State.CHUNK_DATA || state == State.CHUNK_CR
        || state == State.CHUNK_LF || state == State.TRAILERS;
  }

  /** Reads one byte of a CRLF-ended line; returns the next index. */
  private int lineByte(ByteBuffer b, int i) {
    byte x = b.get(i);
    examined++;
    if (state == State.LINE && lineLen == 0 && !sawCr && x == '\n') {
      fail(400, "bare LF");
      return i + 1;
    }
    if (sawCr) {
      if (x != '\n') {
        fail(400, "bare CR");
        return i + 1;
      }
      sawCr = false;
      endOfLine();
      return i + 1;
    }
    if (x == '\r') {
      sawCr = true;
      return i + 1;
    }
    if (x == '\n') {
      fail(400, "bare LF");
      return i + 1;
    }
    int max = switch (state) {
      case LINE -> limits.maxRequestLine();
      case CHUNK_SIZE -> MAX_CHUNK_LINE;
      default -> limits.maxHeaderBytes();
    };
    if (lineLen >= max) {
      fail(state == State.LINE ? 414 : state == State.HEADERS ? 431 : 400, state == State.LINE
          ? "request line longer than " + max + " bytes" : "line longer than " + max + " bytes");
      return i + 1;
    }
    if (state == State.HEADERS || state == State.TRAILERS) {
      headBytes++;
      if (headBytes > limits.maxHeaderBytes()) {
        fail(431, "header section larger than " + limits.maxHeaderBytes() + " bytes");
        return i + 1;
      }
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
      case LINE -> {
        if (lineLen == 0) {
          // RFC 9112 2.2: an empty line before a request line is ignored; it may go on (the decoder skips it too).
          released = examined;
          return;
        }
        requestLine();
      }
      case HEADERS -> {
        if (lineLen == 0) {
          endOfHead();
        } else {
          headerLine(false);
        }
      }
      case CHUNK_SIZE -> chunkSize();
      case TRAILERS -> {
        if (lineLen == 0) {
          released = examined;
          endOfMessage();
        } else {
          headerLine(true);
        }
      }
      default -> throw new IllegalStateException(state.name());
    }
    lineLen = 0;
  }

  private void requestLine() {
    int sp1 = indexOf((byte) ' ', 0);
    if (sp1 <= 0) {
      fail(400, "request line without a method");
      return;
    }
    for (int k = 0; k < sp1; k++) {
      if (!tchar(line[k])) {
        fail(400, "invalid character in the method");
        return;
      }
    }
    int sp2 = indexOf((byte) ' ', sp1 + 1);
    if (sp2 < 0 || sp2 == sp1 + 1) {
      fail(400, "request line is not METHOD SP TARGET SP VERSION");
      return;
    }
    for (int k = sp1 + 1; k < sp2; k++) {
      int c = line[k] & 0xff;
      if (c <= 0x20 || c == 0x7f) {
        fail(400, "invalid character in the request target");
        return;
      }
    }
    String version = new String(line, sp2 + 1, lineLen - sp2 - 1, StandardCharsets.ISO_8859_1);
    if (version.equals("HTTP/1.1")) {
      http11 = true;
    } else if (version.equals("HTTP/1.0")) {
      http11 = false;
    } else if (version.matches("HTTP/[0-9]\\.[0-9]")) {
      fail(505, "HTTP version " + version.substring(5) + " is not supported");
      return;
    } else {
      fail(400, "invalid HTTP version");
      return;
    }
    connect = sp1 == 7 && new String(line, 0, 7, StandardCharsets.ISO_8859_1).equals("CONNECT");
    if (connect) {
      String target = new String(line, sp1 + 1, sp2 - sp1 - 1, StandardCharsets.ISO_8859_1);
      int colon = target.lastIndexOf(':');
      if (colon <= 0 || !target.substring(colon + 1).matches("[0-9]{1,5}") || target.indexOf('/') >= 0) {
        fail(400, "CONNECT needs host:port");
        return;
      }
    }
    state = State.HEADERS;
    headBytes = 0;
    headers = 0;
    contentLengths = 0;
    contentLength = 0;
    transferEncodings = 0;
    chunked = false;
    hosts = 0;
  }

  private void headerLine(boolean trailer) {
    byte first = line[0];
    if (first == ' ' || first == '\t') {
      fail(400, "obsolete line folding");
      return;
    }
    int colon = indexOf((byte) ':', 0);
    if (colon <= 0) {
      fail(400, "header line without a name and colon");
      return;
    }
    for (int k = 0; k < colon; k++) {
      if (!tchar(line[k])) {
        fail(400, line[k] == ' ' || line[k] == '\t' ? "whitespace between a header name and its colon"
            : "invalid character in a header name");
        return;
      }
    }
    for (int k = colon + 1; k < lineLen; k++) {
      int c = line[k] & 0xff;
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        fail(400, "control character in a header value");
        return;
      }
    }
    if (++headers > limits.maxHeaders()) {
      fail(431, "more than " + limits.maxHeaders() + " header lines");
      return;
    }
    if (trailer) {
      return; // trailers do not frame the message (RFC 9110 6.5.1); the decoder drops framing fields in them
    }
    String name = new String(line, 0, colon, StandardCharsets.ISO_8859_1);
    String value = new String(line, colon + 1, lineLen - colon - 1, StandardCharsets.ISO_8859_1).strip();
    if (name.equalsIgnoreCase("Content-Length")) {
      contentLengths++;
      if (!digits(value, 18)) {
        fail(400, "Content-Length is not a byte count");
        return;
      }
      contentLength = Long.parseLong(value);
    } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
      transferEncodings++;
      chunked = value.equalsIgnoreCase("chunked");
      if (!chunked) {
        fail(400, "Transfer-Encoding other than chunked");
      }
    } else if (name.equalsIgnoreCase("Host")) {
      hosts++;
      if (!hostChars(value)) {
        fail(400, "invalid Host");
      }
    }
  }

  private void endOfHead() {
    if (contentLengths > 1) {
      fail(400, "more than one Content-Length");
    } else if (transferEncodings > 1) {
      fail(400, "more than one Transfer-Encoding");
    } else if (transferEncodings == 1 && contentLengths == 1) {
      fail(400, "both Content-Length and Transfer-Encoding");
    } else if (transferEncodings == 1 && !http11) {
      fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    } else if (http11 && hosts != 1) {
      fail(400, hosts == 0 ? "HTTP/1.1 request without Host" : "more than one Host");
    } else if (connect && (chunked || contentLength > 0)) {
      fail(400, "CONNECT with a body");
    }
    if (state == State.FAILED) {
      return;
    }
    released = examined;
    event |= HEAD;
    if (connect) {
      state = State.TUNNEL; // what follows is the tunnel's (or nothing, if the CONNECT is refused and closed)
    } else if (chunked) {
      state = State.CHUNK_SIZE;
      bodies++;
    } else if (contentLength > 0) {
      state = State.BODY;
      remaining = contentLength;
      bodies++;
    } else {
      endOfMessage();
    }
  }

  private void chunkSize() {
    int k = 0;
    long size = 0;
    while (k < lineLen && hex(line[k]) >= 0) {
      if (k == 16) {
        fail(400, "chunk size longer than 16 hex digits");
        return;
      }
      size = size * 16 + hex(line[k]);
      k++;
    }
    if (k == 0 || size < 0 || size > (1L << 62)) {
      fail(400, "invalid chunk size");
      return;
    }
    if (k < lineLen && !extensions(k)) {
      fail(400, "invalid chunk extension");
      return;
    }
    released = examined;
    if (size == 0) {
      state = State.TRAILERS;
      headBytes = 0;
      headers = 0;
    } else {
      state = State.CHUNK_DATA;
      remaining = size;
    }
  }

  /** chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ), from {@code k} to the end. */
  private boolean extensions(int k) {
    while (k < lineLen) {
      k = skipBws(k);
      if (k >= lineLen || line[k] != ';') {
        return false;
      }
      k = skipBws(k + 1);
      int start = k;
      while (k < lineLen && tchar(line[k])) {
        k++;
      }
      if (k == start) {
        return false;
      }
      k = skipBws(k);
      if (k < lineLen && line[k] == '=') {
        k = skipBws(k + 1);
        if (k < lineLen && line[k] == '"') {
          k++;
          boolean closed = false;
          while (k < lineLen) {
            int c = line[k] & 0xff;
            if (c == '"') {
              closed = true;
              k++;
              break;
            }
            if (c == '\\') {
              k++;
            } else if (c < 0x20 && c != '\t' || c == 0x7f) {
              return false;
            }
            k++;
          }
          if (!closed) {
            return false;
          }
        } else {
          int vs = k;
          while (k < lineLen && tchar(line[k])) {
            k++;
          }
          if (k == vs) {
            return false;
          }
        }
      }
    }
    return true;
  }

  private int skipBws(int k) {
    while (k < lineLen && (line[k] == ' ' || line[k] == '\t')) {
      k++;
    }
    return k;
  }

  private void endOfMessage() {
    state = State.LINE;
    event |= MESSAGE;
  }

  private void fail(int status, String reason) {
    this.failedInBody = inBody();
    this.status = status;
    this.reason = reason;
    state = State.FAILED;
  }

  private int indexOf(byte x, int from) {
    for (int k = from; k < lineLen; k++) {
      if (line[k] == x) {
        return k;
      }
    }
    return -1;
  }

  private static boolean digits(String v, int max) {
    if (v.isEmpty() || v.length() > max) {
      return false;
    }
    for (int k = 0; k < v.length(); k++) {
      char c = v.charAt(k);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  /** RFC 3986 host[:port] characters: unreserved, sub-delims, pct-encoded, ':' and the brackets of IPv6. */
  private static boolean hostChars(String v) {
    for (int k = 0; k < v.length(); k++) {
      char c = v.charAt(k);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "._~%!$&'()*+,;=:[]-".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static boolean tchar(byte b) {
    return b > 0 && TCHAR[b];
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
