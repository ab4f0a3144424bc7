package io.portcullis.daemon.reliability;

import io.portcullis.daemon.reliability.HostileHttp.Check;
import io.portcullis.daemon.reliability.HostileHttp.Expect;
import java.util.Locale;

/**
 * Broken answers from the origin: each case asks for {@code /bad/NAME/hN}, which the origin answers with NAME's
 * canned bytes. What reaches the client is re-framed by the proxy; a hidden answer must never reach anyone.
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
   * Answers no HTTP/1.1 reader can frame soundly: 502 if nothing was passed on yet (two lengths are an error, not
   * a pass), else the 200 that began and a close that shows the body was cut.
   */
  private void broken() {
    h.family("upstream answers");
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

  /** The first head of {@code answer}, in lower case. */
  static String head(String answer) {
    int end = answer.indexOf("\r\n\r\n");
    return (end < 0 ? answer : answer.substring(0, end)).toLowerCase(Locale.ROOT);
  }
}
