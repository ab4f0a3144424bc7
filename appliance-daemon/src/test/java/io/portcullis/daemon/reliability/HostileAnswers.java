package io.portcullis.daemon.reliability;

import io.portcullis.daemon.reliability.HostileHttp.Check;
import io.portcullis.daemon.reliability.HostileHttp.Expect;
import io.portcullis.daemon.reliability.HostileHttp.Origin;
import java.util.List;
import java.util.Locale;

/**
 * Broken and tricky answers from the origin: each case asks for {@code /bad/NAME/hN}, which the origin answers with
 * NAME's canned bytes (closing after them, or keeping the connection, where what the proxy makes of stray bytes
 * is the point). What reaches the client is re-framed by the proxy; a hidden answer must never reach anyone.
 */
final class HostileAnswers {
  /** A hidden response: what a desynchronised reader would take for the next answer. */
  private static final String HIDDEN = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED";

  private final HostileHttp h;
  private final CountingOrigin origin;

  private HostileAnswers(HostileHttp h, CountingOrigin origin) {
    this.h = h;
    this.origin = origin;
  }

  /** The cases, their answers registered with {@code origin}. */
  static void all(HostileHttp h, CountingOrigin origin) {
    HostileAnswers a = new HostileAnswers(h, origin);
    a.broken();
    a.codings();
    a.bodyless();
    a.switching();
    a.others();
  }

  private void add(String name, String method, String extra, String bytes, boolean keep, Expect expect) {
    add(name, method, "HTTP/1.1", extra, bytes, keep, expect);
  }

  /**
   * A case: {@code method} {@code /bad/NAME/hN} with {@code extra} header lines, answered with {@code bytes}, on an
   * origin port of its own: a connection the origin closes unannounced, or leaves with stray bytes, is then in no
   * other case's way (the proxy, like Vert.x, does not retry a request that a reused connection's close failed).
   */
  private void add(String name, String method, String version, String extra, String bytes, boolean keep,
      Expect expect) {
    h.add(name, request(name, method, version, port(), extra, bytes, keep), expect);
  }

  private String port() {
    try {
      return "127.0.0.1:" + origin.newPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The request of a case that asks {@code host} for {@code /bad/NAME/hN}, whose answer is {@code bytes}. */
  private String request(String name, String method, String version, String host, String extra, String bytes,
      boolean keep) {
    String key = name.replaceAll("[^A-Za-z0-9]+", "-");
    origin.canned(key, bytes, keep);
    return method + " http://" + host + "/bad/" + key + h.path() + " " + version + "\r\nHost: " + host + "\r\n"
        + extra + "\r\n";
  }

  /**
   * A case that asks for {@code /bad/NAME/hN}, answered with {@code bytes} and the connection kept, then a GET
   * {@code /hN/2} on the same client connection, which the proxy sends to that origin again: whatever it made of
   * the stray bytes, that answer must be the origin's "ok".
   */
  private void alone(String name, String method, String extra, String bytes, Expect expect) {
    String host = port();
    h.add(name, request(name, method, "HTTP/1.1", host, extra, bytes, true) + "GET http://" + host + h.path()
        + "/2 HTTP/1.1\r\nHost: " + host + "\r\n\r\n", expect);
  }

  /**
   * Answers no HTTP/1.1 reader can frame soundly: 502 if nothing was passed on yet (two lengths are an error, not
   * a pass), else the 200 that began and a close that shows the body was cut.
   */
  private void broken() {
    h.family("upstream answers", false);
    Check noBoth = (answer, seen) -> head(answer).contains("content-length:") && head(answer)
        .contains("transfer-encoding:") ? "both Content-Length and Transfer-Encoding passed on" : null;
    add("CL and TE", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        false, Expect.answered(200).check(noBoth));
    add("two different CL", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        false, Expect.answered(502));
    add("negative CL", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello", false, Expect.answered(502));
    // The cut comes before the answer went on (RESPMOD reads first): a 502, not a 200 that ends too soon.
    add("truncated body", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this", false,
        Expect.answered(502));
    add("truncated chunked", "GET", "", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nonly-this", false,
        Expect.answered(502));
    add("bad chunk size", "GET", "", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        false, Expect.answered(502));
    add("1xx flood", "GET", "", "HTTP/1.1 100 Continue\r\n\r\n".repeat(1000)
        + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, Expect.answered(200));
    add("huge header", "GET", "", "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(200_000) + "\r\nContent-Length: 2\r\n\r\nok",
        false, Expect.answered(502));
    // 60 KB of fields: within the proxy's 64 KiB, over what RESPMOD takes, so the scan fails closed (503). The
    // connection is kept: the origin's close while RESPMOD still runs is sometimes taken for its failure (502).
    add("10000 headers", "GET", "", "HTTP/1.1 200 OK\r\n" + "X-A: 1\r\n".repeat(10_000) + "Content-Length: 2\r\n\r\nok",
        true, Expect.answered(503));
    add("bad status line", "GET", "", "HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nok", false,
        Expect.answered(502));
    add("not HTTP", "GET", "", "SSH-2.0-OpenSSH_9.2\r\n", false, Expect.answered(502));
    add("nothing", "GET", "", "", false, Expect.answered(502));
    add("bare LF", "GET", "", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false, Expect.answered(502));
    add("NUL in header", "GET", "", "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 2\r\n\r\nok", false,
        Expect.answered(502));
    add("obs-fold", "GET", "", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok", false,
        Expect.answered(200).check((answer, seen) -> answer.contains("\r\n b\r\n") ? "obs-fold passed on" : null));
    add("HTTP/0.9 style", "GET", "", "ok\r\n", false, Expect.answered(502));
    // Passed on as HAProxy and Squid do: RFC 9110 15 has the client treat it as a 5xx.
    add("status 999", "GET", "", "HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok", false, Expect.answered(999));
    add("a second answer hidden", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + HIDDEN, false,
        Expect.answered(200));
  }

  /**
   * HAProxy's http_transfer_encoding.vtc, the answers: a response's final coding must be chunked, once, or the
   * response is refused (502); an HTTP/1.0 response with chunked is read as chunked and the connection closed.
   */
  private void codings() {
    h.family("HAProxy http_transfer_encoding.vtc", false);
    for (String te : List.of("chunked, chunked", "chunked, gzip, chunked", "chunked, gzip")) {
      add("answer TE [" + te + "]", "GET", "", "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\n",
          false, Expect.answered(502));
    }
    add("answer TE [gzip] with CL", "GET", "", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: gzip\r\n"
        + "\r\nhello", false, Expect.answered(502));
    add("answer HTTP/1.0 with TE chunked", "GET", "", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "0\r\n\r\n", false, Expect.answered(200));
  }

  /**
   * A HEAD's answer, a 204 and a 304 end at their heads (RFC 9112 6.3) whatever they announce: a body sent after
   * one is stray bytes, never relayed and never taken for the next answer on that connection (HAProxy's
   * http_bodyless_response.vtc). The origin keeps the connection, so a proxy that reuses it for the next request
   * must not be fooled; each case has its own origin port, so that only its own next request can be.
   */
  private void bodyless() {
    h.family("bodyless answers with a body", false);
    Check headOnly = (answer, seen) -> {
      int end = answer.indexOf("\r\n\r\n");
      return end >= 0 && !answer.startsWith("HTTP/1.1 ", end + 4) ? "a body after a bodyless answer" : null;
    };
    alone("HEAD, 200 with a length and a body", "HEAD", "", "HTTP/1.1 200 OK\r\nContent-Length: " + HIDDEN.length()
        + "\r\n\r\n" + HIDDEN, Expect.answered(200).statuses(200, 200).second(Origin.ONCE).check(headOnly));
    alone("HEAD, 200 chunked with chunks", "HEAD", "", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + Integer.toHexString(HIDDEN.length()) + "\r\n" + HIDDEN + "\r\n0\r\n\r\n",
        Expect.answered(200).statuses(200, 200).second(Origin.ONCE).check(headOnly));
    alone("204 with a length and a body", "GET", "", "HTTP/1.1 204 No Content\r\nContent-Length: " + HIDDEN.length()
        + "\r\n\r\n" + HIDDEN, Expect.answered(204).statuses(204, 200).second(Origin.ONCE).check(headOnly));
    alone("304 with a body", "GET", "If-None-Match: \"x\"\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n" + HIDDEN,
        Expect.answered(304).statuses(304, 200).second(Origin.ONCE).check(headOnly));
  }

  /** A 101 to a request the proxy did not send an Upgrade with is a broken answer (HAProxy: 502), not a tunnel. */
  private void switching() {
    h.family("unsolicited 101", false);
    String answer = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + HIDDEN;
    add("101 to a plain GET", "GET", "", answer, false, Expect.answered(502));
    add("101 to a GET whose Upgrade the proxy dropped", "GET", "Connection: Upgrade\r\nUpgrade: websocket\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", answer, false,
        Expect.answered(502));
  }

  /** A Connection-named field in an answer, and chunks to an HTTP/1.0 client. */
  private void others() {
    h.family("hop-by-hop fields named in Connection", false);
    add("an answer's field named", "GET", "", "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\n"
        + "Content-Length: 2\r\n\r\nok", true, Expect.answered(200).check((answer, seen) ->
        head(answer).contains("x-secret") ? "the answer's X-Secret passed on" : null));
    h.family("HTTP/1.0 keep-alive", false);
    add("chunks from the origin", "GET", "HTTP/1.0", "Connection: keep-alive\r\n", "HTTP/1.1 200 OK\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true, Expect.answered(200).closing()
        .check((answer, seen) -> head(answer).contains("transfer-encoding") || !answer.endsWith("\r\n\r\nok")
            ? "not the body, whole and unchunked, to an HTTP/1.0 client" : null));
  }

  /** The first head of {@code answer}, in lower case. */
  static String head(String answer) {
    int end = answer.indexOf("\r\n\r\n");
    return (end < 0 ? answer : answer.substring(0, end)).toLowerCase(Locale.ROOT);
  }
}
