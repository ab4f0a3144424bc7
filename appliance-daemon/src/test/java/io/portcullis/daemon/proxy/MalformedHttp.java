package io.portcullis.daemon.proxy;

import java.util.ArrayList;
import java.util.List;

/**
 * Malformed and smuggling requests to a forward proxy, made from families. Each case targets the origin at
 * {@code origin} with the path {@code /cN} (N its index); a request hidden in it uses {@code /SMUGGLED-cN}, which must
 * never reach the origin. {@code originMaySee}: the case's first request is sound (or its head is, and only its body
 * is bad), so the origin may see {@code /cN}; otherwise it must not.
 */
public final class MalformedHttp {
  public record Case(String name, String bytes, boolean originMaySee, int status) {
  }

  private final String origin;
  private final List<Case> cases = new ArrayList<>();

  private MalformedHttp(int originPort) {
    this.origin = "127.0.0.1:" + originPort;
  }

  /** Every case; {@code status} 0 means "any 4xx/5xx". */
  public static List<Case> all(int originPort) {
    MalformedHttp m = new MalformedHttp(originPort);
    m.framing();
    m.chunks();
    m.lineEndings();
    m.headers();
    m.requestLines();
    m.hosts();
    m.pipelines();
    return m.cases;
  }

  private String url() {
    return "http://" + origin + "/c" + cases.size();
  }

  private String smuggled() {
    return "GET http://" + origin + "/SMUGGLED-c" + cases.size() + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n";
  }

  private String head(String method, String extra) {
    return method + " " + url() + " HTTP/1.1\r\nHost: " + origin + "\r\n" + extra;
  }

  private void add(String name, String bytes, boolean originMaySee, int status) {
    cases.add(new Case(name, bytes, originMaySee, status));
  }

  /** Content-Length and Transfer-Encoding: conflicts, duplicates, signs, spellings. */
  private void framing() {
    String chunkedThenSmuggle = "0\r\n\r\n";
    add("CL then TE", head("POST", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n") + chunkedThenSmuggle
        + smuggled(), false, 400);
    add("TE then CL", head("POST", "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n") + chunkedThenSmuggle
        + smuggled(), false, 400);
    add("TE chunked with CL 0", head("POST", "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n"
        + chunkedThenSmuggle + smuggled(), false, 400);
    for (String cl : List.of("5\r\nContent-Length: 5", "5\r\nContent-Length: 6", "5, 5", "5,6", "+5", "-5", " 5x",
        "0x5", "", "5 5", "99999999999999999999", "5.0", "1e3")) {
      add("Content-Length [" + cl.replace("\r\n", "\\r\\n") + "]", head("POST", "Content-Length: " + cl + "\r\n\r\n")
          + "hello" + smuggled(), false, 400);
    }
    for (String te : List.of("xchunked", "chunked, identity", "identity", "gzip, chunked", "chunked\r\nTransfer-Encoding: "
        + "chunked", "chunked\u000b", "\"chunked\"", "chunked;q=1")) {
      add("Transfer-Encoding [" + te.replace("\r\n", "\\r\\n") + "]", head("POST", "Transfer-Encoding: " + te
          + "\r\n\r\n") + "5\r\nhello\r\n0\r\n\r\n" + smuggled(), false, 400);
    }
    add("space before TE colon", head("POST", "Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\n")
        + "0\r\n\r\n" + smuggled(), false, 400);
    add("TE in HTTP/1.0", "POST " + url() + " HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled(),
        false, 400);
    add("CONNECT with a body", "CONNECT " + origin + " HTTP/1.1\r\nHost: " + origin + "\r\nContent-Length: 5\r\n\r\n"
        + "hello", false, 400);
  }

  /** Chunk sizes and extensions; the head is sound, so the origin may see the request begin, never a second one. */
  private void chunks() {
    for (String size : List.of("-1", "+5", "0x5", " 5", "5 x", "g", "fffffffffffffffffff", "1234567890abcdef0",
        "5;", "5;=x", "5;a=\"unterminated", "5;a=\"b\rc\"", "5;a=b c", "5\r", "")) {
      add("chunk size [" + size.replace("\r", "\\r") + "]", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
          + size + "\r\nhello\r\n0\r\n\r\n" + smuggled(), true, 0);
    }
    add("chunk data without CRLF", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhelloXX0\r\n\r\n"
        + smuggled(), true, 0);
    add("chunk data longer than its size", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "2\r\nhello\r\n0\r\n\r\n" + smuggled(), true, 0);
    add("chunk size line with bare LF", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\nhello\r\n0\r\n\r\n"
        + smuggled(), true, 0);
    add("trailer with obs-fold", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n0\r\nX-T: a\r\n"
        + " folded\r\n\r\n" + smuggled(), true, 0);
  }

  /** Bare LF, bare CR, NUL. */
  private void lineEndings() {
    add("bare LF after the request line", "GET " + url() + " HTTP/1.1\nHost: " + origin + "\r\n\r\n", false, 400);
    add("bare LF between headers", head("GET", "X-A: 1\nX-B: 2\r\n\r\n"), false, 400);
    add("bare LF ending the head", "GET " + url() + " HTTP/1.1\r\nHost: " + origin + "\n\n" + smuggled(), false, 400);
    add("bare CR in a header", head("GET", "X-A: 1\rX-B: 2\r\n\r\n"), false, 400);
    add("bare CR in the request line", "GET " + url() + "\r HTTP/1.1\r\nHost: " + origin + "\r\n\r\n", false, 400);
    add("NUL in a header value", head("GET", "X-A: a\u0000b\r\n\r\n"), false, 400);
    add("NUL in the target", "GET " + url() + "\u0000 HTTP/1.1\r\nHost: " + origin + "\r\n\r\n", false, 400);
    add("NUL in a header name", head("GET", "X\u0000A: 1\r\n\r\n"), false, 400);
    add("DEL in a header value", head("GET", "X-A: a\u007fb\r\n\r\n"), false, 400);
    add("ESC in a header value", head("GET", "X-A: a\u001bb\r\n\r\n"), false, 400);
  }

  /** obs-fold, whitespace before the colon, names, limits. */
  private void headers() {
    add("obs-fold with a space", head("GET", "X-A: 1\r\n 2\r\n\r\n"), false, 400);
    add("obs-fold with a tab", head("GET", "X-A: 1\r\n\t2\r\n\r\n"), false, 400);
    add("obs-fold hiding Content-Length", head("POST", "X-A: 1\r\n Content-Length: 30\r\n\r\n") + smuggled(), false,
        400);
    add("space before the colon", head("GET", "X-A : 1\r\n\r\n"), false, 400);
    add("tab before the colon", head("GET", "X-A\t: 1\r\n\r\n"), false, 400);
    add("empty header name", head("GET", ": 1\r\n\r\n"), false, 400);
    add("header without a colon", head("GET", "X-A 1\r\n\r\n"), false, 400);
    add("header name with a slash", head("GET", "X/A: 1\r\n\r\n"), false, 400);
    add("header name with a non-ASCII byte", head("GET", "X\u00e9A: 1\r\n\r\n"), false, 400);
    add("header line longer than maxHeaderBytes", head("GET", "X-A: " + "a".repeat(40_000) + "\r\n\r\n"), false, 431);
    add("more headers than maxHeaders", head("GET", "X-A: 1\r\n".repeat(120) + "\r\n"), false, 431);
    add("header section larger than maxHeaderBytes", head("GET", ("X-A: " + "a".repeat(1000) + "\r\n").repeat(40)
        + "\r\n"), false, 431);
  }

  /** Methods, targets, versions, CONNECT targets, target forms. */
  private void requestLines() {
    String host = "\r\nHost: " + origin + "\r\n\r\n";
    add("method with @", "G@T " + url() + " HTTP/1.1" + host, false, 400);
    add("method with a non-ASCII byte", "G\u00c9T " + url() + " HTTP/1.1" + host, false, 400);
    add("two spaces after the method", "GET  " + url() + " HTTP/1.1" + host, false, 400);
    add("two spaces before the version", "GET " + url() + "  HTTP/1.1" + host, false, 400);
    add("tab as separator", "GET\t" + url() + " HTTP/1.1" + host, false, 400);
    add("no version", "GET " + url() + host, false, 400);
    add("lower-case version", "GET " + url() + " http/1.1" + host, false, 400);
    add("version 1.2", "GET " + url() + " HTTP/1.2" + host, false, 505);
    add("version 2.0", "GET " + url() + " HTTP/2.0" + host, false, 505);
    add("version with garbage", "GET " + url() + " HTTP/1.1x" + host, false, 400);
    add("version 0.9 style", "GET " + url() + host.substring(2), false, 400);
    add("space in the target", "GET http://" + origin + "/a b HTTP/1.1" + host, false, 400);
    add("target longer than maxRequestLine", "GET " + url() + "?" + "a".repeat(10_000) + " HTTP/1.1" + host, false,
        414);
    add("origin-form to the proxy", "GET /c" + cases.size() + " HTTP/1.1" + host, false, 400);
    add("asterisk-form", "OPTIONS * HTTP/1.1" + host, false, 400);
    add("https:// absolute-form", "GET https://" + origin + "/c" + cases.size() + " HTTP/1.1" + host, false, 400);
    add("user info in the URL", "GET http://user:pw@" + origin + "/c" + cases.size() + " HTTP/1.1" + host, false, 400);
    add("CONNECT without a port", "CONNECT 127.0.0.1 HTTP/1.1" + host, false, 400);
    add("CONNECT with a path", "CONNECT 127.0.0.1:443/x HTTP/1.1" + host, false, 400);
    add("CONNECT with an empty host", "CONNECT :443 HTTP/1.1" + host, false, 400);
    add("CONNECT with a port that is not a number", "CONNECT 127.0.0.1:https HTTP/1.1" + host, false, 400);
    add("CONNECT to port 25", "CONNECT 127.0.0.1:25 HTTP/1.1" + host, false, 403);
    add("empty request line then garbage", "\r\n\u0001\u0002\r\n\r\n", false, 400);
    add("request line only spaces", "   \r\n\r\n", false, 400);
  }

  /** Host header rules of RFC 9112 3.2. */
  private void hosts() {
    add("HTTP/1.1 without Host", "GET " + url() + " HTTP/1.1\r\n\r\n", false, 400);
    add("two Host headers", head("GET", "Host: other.test\r\n\r\n"), false, 400);
    add("Host with a space", "GET " + url() + " HTTP/1.1\r\nHost: a b\r\n\r\n", false, 400);
    add("Host with a slash", "GET " + url() + " HTTP/1.1\r\nHost: a/b\r\n\r\n", false, 400);
  }

  /** A sound first request, then a bad one: the first is served, the second refused, nothing more. */
  private void pipelines() {
    String first = head("GET", "\r\n");
    add("sound GET then CL+TE", first + "POST http://" + origin + "/SMUGGLED-c" + cases.size() + " HTTP/1.1\r\nHost: "
        + origin + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled(), true, 400);
    add("sound GET then obs-fold", head("GET", "\r\n") + "GET http://" + origin + "/SMUGGLED-c" + cases.size()
        + " HTTP/1.1\r\nHost: " + origin + "\r\nX: a\r\n b\r\n\r\n", true, 400);
    add("Expect 100-continue then a bad second head", head("POST", "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        + "hello" + "GET http://" + origin + "/SMUGGLED-c" + cases.size() + " HTTP/1.1\r\n\r\n", true, 400);
    add("sound POST then a smuggle in bare LF", head("POST", "Content-Length: 5\r\n\r\n") + "hello"
        + "GET http://" + origin + "/SMUGGLED-c" + cases.size() + " HTTP/1.1\nHost: " + origin + "\n\n", true, 400);
  }
}
