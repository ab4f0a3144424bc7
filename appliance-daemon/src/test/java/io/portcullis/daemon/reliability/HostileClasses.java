package io.portcullis.daemon.reliability;

import io.portcullis.daemon.reliability.HostileHttp.Check;
import io.portcullis.daemon.reliability.HostileHttp.Expect;
import io.portcullis.daemon.reliability.HostileHttp.Origin;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * The request classes HAProxy's reg-tests and Squid's handling name, beyond the generated families: its
 * http_transfer_encoding.vtc and h1_request_target_validation.vtc cases, chunk extensions (quoted newlines, CPU),
 * trailers past the limits, malformed Proxy-Authorization, HTTP/1.0 keep-alive pipelines, {@code Upgrade: h2c},
 * hop-by-hop fields named in Connection and a Host that disagrees with the absolute URI. Each is one distinct way
 * to get framing or routing wrong, with the answer Squid or HAProxy gives (RFC 9112), or ours where theirs differ.
 */
final class HostileClasses {
  /** The login of the proxy that asks for one (HostileHttpTest's second daemon). */
  static final String USER = "hostile";
  static final String PASSWORD = "hostile-pw";

  private final HostileHttp h;

  private HostileClasses(HostileHttp h) {
    this.h = h;
  }

  static void all(HostileHttp h) {
    HostileClasses c = new HostileClasses(h);
    c.transferEncodings();
    c.requestTargets();
    c.chunkExtensions();
    c.trailers();
    c.proxyAuthorization();
    c.http10KeepAlive();
    c.upgrade();
    c.hopByHop();
    c.hostAndUri();
  }

  /** {@code Proxy-Authorization} with the proxy's valid login. */
  static String login() {
    return "Proxy-Authorization: Basic " + base64(USER + ":" + PASSWORD) + "\r\n";
  }

  private static String base64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A request's final coding must be chunked and only once (RFC 9112 6.1, 6.3): anything else cannot be framed and
   * is refused (HAProxy: 400; 422 for {@code gzip, chunked}, which it cannot decode; we refuse every coding but
   * chunked alone with 400, as re-framing would drop it).
   */
  private void transferEncodings() {
    h.family("HAProxy http_transfer_encoding.vtc", false);
    for (String te : List.of("chunked, chunked", "chunked, gzip, chunked", "chunked, gzip", "gzip, chunked")) {
      h.add("TE [" + te + "]", h.head("POST", "Transfer-Encoding: " + te + "\r\n\r\n") + "0\r\n\r\n" + h.smuggled(),
          Expect.refused(400));
    }
    h.add("TE [gzip] alone", h.head("POST", "Transfer-Encoding: gzip\r\n\r\n") + "hello", Expect.refused(400));
    h.add("a second Transfer-Encoding header", h.head("POST", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"
        + "\r\n\r\n") + "0\r\n\r\n" + h.smuggled(), Expect.refused(400));
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, whatever Content-Length says.
    h.add("HTTP/1.0 with TE and CL", "POST " + h.url() + " HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: "
        + "chunked\r\n\r\n0\r\n\r\n" + h.smuggled(), Expect.refused(400));
  }

  /** A forward proxy takes absolute-form (and CONNECT's authority-form) only; HAProxy refuses these forms too. */
  private void requestTargets() {
    h.family("HAProxy h1_request_target_validation.vtc", false);
    String host = " HTTP/1.1\r\nHost: " + h.origin + "\r\n\r\n";
    h.add("OPTIONS */test", "OPTIONS */test" + host, Expect.refused(400));
    h.add("CONNECT /", "CONNECT /" + host, Expect.refused(400));
    h.add("GET authority-form", "GET " + h.origin + host, Expect.refused(400));
    h.add("GET relative path", "GET admin" + h.path() + host, Expect.refused(400));
    h.add("GET relative path with segments", "GET admin/a/b" + h.path() + host, Expect.refused(400));
    // HAProxy refuses bytes past ASCII in the target by default; a URI has none (RFC 3986).
    h.add("a byte past ASCII in the target", "GET " + h.url() + "\u00e9" + host, Expect.refused(400));
    h.add("'#' ends the authority", "GET http://" + h.origin + "#" + h.path() + host, Expect.refused(400));
  }

  /** Quoted strings that hold a line end, and lines of many tiny extensions (the CPU a parser spends on them). */
  private void chunkExtensions() {
    h.family("chunk extensions", false);
    String chunked = "Transfer-Encoding: chunked\r\n\r\n";
    h.add("quoted LF in an extension", h.head("POST", chunked) + "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n" + h.smuggled(),
        Expect.refusedInBody(400));
    // A parser that let a quoted string run over the line end would read the chunks and the request as its value.
    h.add("quoted CRLF in an extension", h.head("POST", chunked) + "5;a=\"\r\nhello\r\n0\r\n\r\n" + h.smuggled()
        + "\"\r\nhello\r\n0\r\n\r\n", Expect.refusedInBody(400));
    String tiny = ";a".repeat(2000); // 4001 bytes with the size: under the 4096 bound
    h.add("200 chunks of 2000 tiny extensions each", h.head("POST", chunked) + ("1" + tiny + "\r\nx\r\n").repeat(200)
        + "0\r\n\r\n", Expect.passes(200));
    h.add("3000 tiny extensions: over the line bound", h.head("POST", chunked) + "5" + ";a".repeat(3000) + "\r\nhello"
        + "\r\n0\r\n\r\n", Expect.refusedInBody(400));
    h.add("10000 chunks of one byte", h.head("POST", chunked) + "1\r\nx\r\n".repeat(10_000) + "0\r\n\r\n",
        Expect.passes(10_000));
  }

  /** Trailers count against the header limits (a trailer section is a header section after the body). */
  private void trailers() {
    h.family("trailers", false);
    String body = h.head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n0\r\n";
    h.add("50 trailers: within the limits", body + "X-T: 1\r\n".repeat(50) + "\r\n", Expect.passes(5));
    h.add("a trailer line over maxHeaderBytes", h.head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello\r\n0\r\nX-T: " + "a".repeat(40_000) + "\r\n\r\n" + h.smuggled(), Expect.refusedInBody(400));
    h.add("trailers over maxHeaderBytes together", h.head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello\r\n0\r\n" + ("X-T: " + "a".repeat(1000) + "\r\n").repeat(40) + "\r\n", Expect.refusedInBody(431));
    h.add("more trailers than maxHeaders", h.head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello\r\n0\r\n" + "X-T: 1\r\n".repeat(150) + "\r\n", Expect.refusedInBody(431));
  }

  /**
   * Malformed logins to the proxy that asks for one: each a 407 with the Basic challenge (the connection kept, as
   * Squid does), never the origin; one too large for the header limit is a 431. A valid one is consumed by the proxy.
   */
  private void proxyAuthorization() {
    h.family("Proxy-Authorization", true);
    Expect challenged = Expect.kept(407).check((answer, seen) -> answer.contains("\r\nProxy-Authenticate: Basic realm=")
        ? null : "no Basic challenge");
    h.add("Digest credentials", h.head("GET", "Proxy-Authorization: Digest username=\"" + USER + "\", realm=\"x\", "
        + "nonce=\"abc\", uri=\"/\", response=\"0123456789abcdef0123456789abcdef\"\r\n\r\n"), challenged);
    h.add("Basic with bad base64", h.head("GET", "Proxy-Authorization: Basic !!not*base64==\r\n\r\n"), challenged);
    h.add("Basic without a colon", h.head("GET", "Proxy-Authorization: Basic " + base64(USER) + "\r\n\r\n"),
        challenged);
    h.add("Basic without credentials", h.head("GET", "Proxy-Authorization: Basic\r\n\r\n"), challenged);
    h.add("Basic with a 20 KB password", h.head("GET", "Proxy-Authorization: Basic " + base64(USER + ":"
        + "p".repeat(20_000)) + "\r\n\r\n"), challenged);
    h.add("Basic over maxHeaderBytes", h.head("GET", "Proxy-Authorization: Basic " + base64(USER + ":"
        + "p".repeat(40_000)) + "\r\n\r\n"), Expect.refused(431));
    h.add("valid login: consumed, not forwarded", h.head("GET", login() + "\r\n"), Expect.passes(0)
        .check(lacks("Proxy-Authorization")));
  }

  /**
   * An HTTP/1.0 client keeps its connection only if it asks (keep-alive) and gets lengths, never chunks; without
   * keep-alive the proxy closes after the answer and nothing pipelined behind it is served.
   */
  private void http10KeepAlive() {
    h.family("HTTP/1.0 keep-alive", false);
    String second = "GET " + h.url() + "/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    Check noChunks = (answer, seen) -> answer.toLowerCase(Locale.ROOT).contains("transfer-encoding")
        ? "chunks to an HTTP/1.0 client" : null;
    h.add("keep-alive, a request pipelined", "GET " + h.url() + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        + second, Expect.passes(0).statuses(200, 200).second(Origin.ONCE).check(noChunks));
    h.add("keep-alive POST, a request pipelined", "POST " + h.url() + " HTTP/1.0\r\nConnection: keep-alive\r\n"
        + "Content-Length: 5\r\n\r\nhello" + "GET " + h.url() + "/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        Expect.passes(5).statuses(200, 200).second(Origin.ONCE).check(noChunks));
    h.add("no keep-alive, a request pipelined", "GET " + h.url() + " HTTP/1.0\r\n\r\n" + second,
        Expect.passes(0).closing().second(Origin.NOTHING));
  }

  /**
   * {@code Upgrade: h2c} is not taken (Squid and HAProxy do not speak h2c): the request is served over HTTP/1.1
   * and the upgrade's fields, hop-by-hop, stay here; an HTTP/2 preface is not an HTTP/1 request.
   */
  private void upgrade() {
    h.family("Upgrade: h2c", false);
    h.add("h2c upgrade", h.head("GET", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"), Expect.passes(0)
        .check(all(lacks("Upgrade"), lacks("HTTP2-Settings"), lacks("Connection"))));
    h.add("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Expect.refused(505).origin(Origin.ANY));
  }

  /** A field a Connection header names is this hop's only (RFC 9110 7.6.1), even one the framing depends on. */
  private void hopByHop() {
    h.family("hop-by-hop fields named in Connection", false);
    h.add("a custom field named", h.head("GET", "Connection: X-Hop\r\nX-Hop: secret\r\nX-End: 1\r\n\r\n"),
        Expect.passes(0).check(all(lacks("X-Hop"), lacks("Connection"), has("X-End", "1"))));
    h.add("a list with empty elements", h.head("GET", "Connection: , X-A ,, X-B\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
        Expect.passes(0).check(all(lacks("X-A"), lacks("X-B"))));
    h.add("two Connection headers", h.head("GET", "Connection: X-A\r\nConnection: X-B\r\nX-A: 1\r\nX-B: 2\r\n\r\n"),
        Expect.passes(0).check(all(lacks("X-A"), lacks("X-B"))));
    h.add("Content-Length named: the body still whole", h.head("POST", "Connection: Content-Length\r\n"
        + "Content-Length: 5\r\n\r\nhello"), Expect.passes(5));
    h.add("Host named: the URI's host still sent", h.head("GET", "Connection: Host\r\n\r\n"),
        Expect.passes(0).check(has("Host", h.origin)));
  }

  /** RFC 9112 3.2.2: a proxy ignores the Host of an absolute-form request and sends the URI's authority. */
  private void hostAndUri() {
    h.family("Host disagreeing with the absolute URI", false);
    h.add("another host", "GET " + h.url() + " HTTP/1.1\r\nHost: evil.test\r\n\r\n",
        Expect.passes(0).check(has("Host", h.origin)));
    h.add("another port", "GET " + h.url() + " HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n",
        Expect.passes(0).check(has("Host", h.origin)));
    // Port 1 has no listener: the URI is where the proxy connects, not the origin the Host names.
    h.add("Host names the origin, the URI a closed port", "GET http://127.0.0.1:1" + h.path() + " HTTP/1.1\r\nHost: "
        + h.origin + "\r\n\r\n", Expect.kept(502));
  }

  /** The origin got {@code /hN} without a field {@code name}. */
  static Check lacks(String name) {
    return (answer, seen) -> seen.stream().anyMatch(s -> !s.header(name).isEmpty())
        ? "the origin got " + name + ": " + seen.get(0).header(name) : null;
  }

  /** The origin got {@code /hN} with exactly one field {@code name}, of value {@code value}. */
  static Check has(String name, String value) {
    return (answer, seen) -> seen.stream().allMatch(s -> s.header(name).equals(List.of(value))) ? null
        : "the origin got " + name + ": " + seen.stream().map(s -> s.header(name)).toList() + ", not " + value;
  }

  /** Every one of {@code checks}. */
  static Check all(Check... checks) {
    return (answer, seen) -> {
      for (Check c : checks) {
        String f = c.fault(answer, seen);
        if (f != null) {
          return f;
        }
      }
      return null;
    };
  }
}
