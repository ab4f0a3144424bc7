package io.portcullis.daemon.http1;

/**
 * What one message head says about its framing, gathered field by field: the start line's facts, Content-Length,
 * Transfer-Encoding, Host and Connection. Reused for each head of a connection ({@link #reset}).
 */
final class Head {
  boolean http11;
  boolean connect;
  int status;
  Object detail; // what a violation's reason names (a version, a status)
  int contentLengths;
  long contentLength;
  int transferEncodings;
  boolean chunked;
  int hosts;
  boolean close;
  boolean keepAlive;

  /** Forgets the last head's fields (the start line's facts stay until the next start line). */
  void reset() {
    contentLengths = 0;
    contentLength = 0;
    transferEncodings = 0;
    chunked = false;
    hosts = 0;
    close = false;
    keepAlive = false;
  }

  /** Reads a client's request line b[0, len); returns null or what is wrong. */
  Violation requestLine(byte[] b, int len) {
    Violation v = StartLine.request(b, 0, len, false);
    if (v == Violation.VERSION_NOT_SUPPORTED) {
      detail = StartLine.versionText(b, 0, len);
    }
    if (v != null) {
      return v;
    }
    http11 = StartLine.requestVersion(b, 0, len) == 11;
    connect = StartLine.connect(b, 0, len);
    return connect && !StartLine.connectTarget(b, 0, len) ? Violation.BAD_CONNECT : null;
  }

  /** Reads a server's status line b[0, len): HTTP/1.0 or 1.1 and a status from 100; returns null or what is wrong. */
  Violation statusLine(byte[] b, int len) {
    http11 = false;
    status = 0;
    int s = StartLine.status(b, 0, len);
    int version = s / 1000;
    if (s < 0 || (version != 10 && version != 11)) {
      return Violation.BAD_STATUS_LINE;
    }
    http11 = version == 11;
    status = s % 1000;
    detail = status;
    return status < 100 ? Violation.BAD_STATUS : null;
  }

  /** Takes the framing facts of a request's field b[0, len) with its colon at {@code colon}; null or what is wrong. */
  Violation requestField(byte[] b, int colon, int len) {
    int vs = Fields.valueStart(b, colon, len, Fields.Rules.STRICT);
    int ve = Fields.valueEnd(b, vs, len, Fields.Rules.STRICT);
    if (Chars.is(b, 0, colon, "content-length")) {
      contentLengths++;
      contentLength = contentLength(b, vs, ve);
      return contentLength < 0 ? Violation.BAD_CONTENT_LENGTH : null;
    } else if (Chars.is(b, 0, colon, "transfer-encoding")) {
      transferEncodings++;
      chunked = Chars.is(b, vs, ve, "chunked"); // exactly chunked: any other coding cannot be checked here
      return chunked ? null : Violation.TRANSFER_CODING;
    } else if (Chars.is(b, 0, colon, "host")) {
      hosts++;
      return hostChars(b, vs, ve) ? null : Violation.BAD_HOST;
    }
    return null;
  }

  /** Checks what the whole request head said; null or what is wrong (RFC 9112 6.1, 6.3, 3.2). */
  Violation endOfRequest() {
    if (contentLengths > 1) {
      return Violation.CONTENT_LENGTHS;
    } else if (transferEncodings > 1) {
      return Violation.TRANSFER_ENCODINGS;
    } else if (transferEncodings == 1 && contentLengths == 1) {
      return Violation.LENGTH_AND_CODING;
    } else if (transferEncodings == 1 && !http11) {
      return Violation.CODING_IN_HTTP10;
    } else if (http11 && hosts != 1) {
      return hosts == 0 ? Violation.NO_HOST : Violation.HOSTS;
    } else if (connect && (chunked || contentLength > 0)) {
      return Violation.CONNECT_BODY;
    }
    return null;
  }

  /** Takes the framing facts of a response's field b[0, len); null or what is wrong. */
  Violation responseField(byte[] b, int colon, int len) {
    int vs = Fields.valueStart(b, colon, len, Fields.Rules.TRUSTED);
    int ve = Fields.valueEnd(b, vs, len, Fields.Rules.TRUSTED);
    if (Chars.is(b, 0, colon, "content-length")) {
      long n = contentLength(b, vs, ve);
      if (n < 0) {
        return Violation.BAD_CONTENT_LENGTH;
      }
      if (contentLengths > 0 && n != contentLength) {
        return Violation.CONTENT_LENGTHS; // equal copies are one length (RFC 9110 8.6)
      }
      contentLengths++;
      contentLength = n;
    } else if (Chars.is(b, 0, colon, "transfer-encoding")) {
      transferEncodings++;
      chunked = TokenList.lastIs(b, vs, ve, "chunked"); // RFC 9112 6.3: chunked last, else to the close
    } else if (Chars.is(b, 0, colon, "connection")) {
      close |= TokenList.has(b, vs, ve, "close");
      keepAlive |= TokenList.has(b, vs, ve, "keep-alive");
    }
    return null;
  }

  /** Content-Length's value b[from, to): 1 to 18 digits (RFC 9110 8.6), or -1. */
  static long contentLength(byte[] b, int from, int to) {
    if (!Chars.digits(b, from, to, 18)) {
      return -1;
    }
    long n = 0;
    for (int k = from; k < to; k++) {
      n = n * 10 + (b[k] - '0');
    }
    return n;
  }

  /** RFC 3986 host[:port] characters: unreserved, sub-delims, pct-encoded, ':' and the brackets of IPv6. */
  private static boolean hostChars(byte[] b, int from, int to) {
    for (int k = from; k < to; k++) {
      int c = b[k] & 0xff;
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "._~%!$&'()*+,;=:[]-".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
