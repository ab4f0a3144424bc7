package io.portcullis.daemon.http1;

/**
 * What is wrong with an HTTP/1 message: the core's result value for bad input (never an exception). Each has the
 * status a request refused for it gets and its reason, as the request check words it and as the response walk does.
 */
public enum Violation {
  BARE_CR(400, "bare CR"),
  BARE_LF(400, "bare LF"),
  REQUEST_LINE_TOO_LONG(414, "request line longer than %d bytes"),
  FIELD_LINE_TOO_LONG(431, "line longer than %d bytes"),
  TRAILER_LINE_TOO_LONG(400, "line longer than %d bytes"),
  CHUNK_LINE_TOO_LONG(400, "line longer than %d bytes", "chunk size line longer than %d bytes"),
  HEAD_TOO_LARGE(431, "header section larger than %d bytes", "response head larger than %d bytes"),
  TOO_MANY_FIELDS(431, "more than %d header lines"),
  EMPTY_LINE(400, "empty line inside a header block"),
  NO_METHOD(400, "request line without a method"),
  BAD_METHOD(400, "invalid character in the method"),
  BAD_REQUEST_LINE(400, "request line is not METHOD SP TARGET SP VERSION"),
  BAD_TARGET(400, "invalid character in the request target"),
  VERSION_NOT_SUPPORTED(505, "HTTP version %s is not supported"),
  BAD_VERSION(400, "invalid HTTP version"),
  BAD_CONNECT(400, "CONNECT needs host:port"),
  BAD_STATUS_LINE(400, "not an HTTP/1.x status line"),
  BAD_STATUS(400, "status %d"),
  OBS_FOLD(400, "obsolete line folding"),
  NO_NAME(400, "header line without a name and colon"),
  WS_IN_NAME(400, "whitespace between a header name and its colon", "whitespace in a header name"),
  BAD_NAME(400, "invalid character in a header name"),
  CTL_IN_VALUE(400, "control character in a header value"),
  BAD_CONTENT_LENGTH(400, "Content-Length is not a byte count"),
  CONTENT_LENGTHS(400, "more than one Content-Length", "Content-Lengths that differ"),
  TRANSFER_CODING(400, "Transfer-Encoding other than chunked"),
  TRANSFER_ENCODINGS(400, "more than one Transfer-Encoding"),
  LENGTH_AND_CODING(400, "both Content-Length and Transfer-Encoding"),
  CODING_IN_HTTP10(400, "Transfer-Encoding in an HTTP/1.0 request"),
  NO_HOST(400, "HTTP/1.1 request without Host"),
  HOSTS(400, "more than one Host"),
  BAD_HOST(400, "invalid Host"),
  CONNECT_BODY(400, "CONNECT with a body"),
  CHUNK_SIZE_DIGITS(400, "chunk size longer than %d hex digits"),
  NO_CHUNK_SIZE(400, "invalid chunk size"),
  CHUNK_TOO_LARGE(400, "invalid chunk size"),
  BAD_CHUNK_EXTENSION(400, "invalid chunk extension", "invalid chunk size"),
  NO_CRLF_AFTER_DATA(400, "chunk data is not followed by CRLF"),
  AFTER_END(400, "bytes after the end of the response");

  private static final Violation[] ALL = values();

  private final int status;
  private final String request;
  private final String response;

  Violation(int status, String text) {
    this(status, text, text);
  }

  Violation(int status, String request, String response) {
    this.status = status;
    this.request = request;
    this.response = response;
  }

  /** The status a request refused for this gets. */
  public int status() {
    return status;
  }

  /** The reason in {@code mode}'s words, with {@code detail} (a limit, a version, a status) where it takes one. */
  public String reason(Http1Framing.Mode mode, Object detail) {
    String text = mode == Http1Framing.Mode.RESPONSE ? response : request;
    return text.indexOf('%') < 0 ? text : String.format(text, detail);
  }

  /** The code a check returns for this (negative: below any index or size it returns instead). */
  int code() {
    return -1 - ordinal();
  }

  /** The violation a negative check result stands for. */
  public static Violation of(long code) {
    return ALL[(int) (-1 - code)];
  }
}
