package io.portcullis.daemon.http1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The REQUEST mode alone: the same bytes split anywhere give the same verdict; what it lets through, and when. */
class RequestFramingTest {
  static final Http1Framing.Limits LIMITS = Http1Framing.Limits.request(8192, 32768, 100);

  static Http1Framing framing() {
    return new Http1Framing(Http1Framing.Mode.REQUEST, LIMITS);
  }

  /** Feeds {@code text} cut at {@code cuts}; returns [released, failed ? status : 0]. */
  static long[] run(String text, int... cuts) {
    byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
    Http1Framing f = framing();
    long released = 0;
    int from = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : b.length;
      released = f.feed(ByteBuffer.wrap(b, from, to - from));
      from = to;
    }
    return new long[] {released, f.failed() ? f.status() : 0};
  }

  static final String PIPELINE = "\r\nGET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"
      + "POST http://a.test/up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello"
      + "POST http://a.test/c HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
      + "5;name=\"quoted;value\"\r\nhello\r\n3 ; a=b\r\nxyz\r\n0\r\nX-Trailer: t\r\n\r\n"
      + "GET http://a.test/10 HTTP/1.0\r\n\r\n";

  @Test
  void aSoundPipelineIsReleasedWholeWhereverItIsSplit() {
    int n = PIPELINE.length();
    for (int cut = 0; cut <= n; cut++) {
      assertEquals(List.of((long) n, 0L), List.of(run(PIPELINE, cut)[0], run(PIPELINE, cut)[1]), "cut at " + cut);
    }
    for (int a = 0; a <= n; a += 7) {
      for (int b = a; b <= n; b += 5) {
        long[] r = run(PIPELINE, a, b);
        assertEquals(n, r[0], "cuts at " + a + ", " + b);
      }
    }
  }

  @Test
  void aHeadIsHeldBackUntilItIsWholeAndBodyBytesGoOnAsTheyCome() {
    Http1Framing f = framing();
    String head = "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\n";
    assertEquals(0, f.feed(ByteBuffer.wrap(head.substring(0, 20).getBytes(StandardCharsets.US_ASCII))));
    assertTrue(f.inHead());
    assertEquals(head.length(), f.feed(ByteBuffer.wrap(head.substring(20).getBytes(StandardCharsets.US_ASCII))));
    assertFalse(f.inHead());
    assertEquals(head.length() + 4, f.feed(ByteBuffer.wrap("abcd".getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void aViolationGivesTheSameStatusWhereverTheBytesAreSplit() {
    String smuggle = "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nContent-Length: 4\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    for (int cut = 0; cut <= smuggle.length(); cut++) {
      long[] r = run(smuggle, cut);
      assertEquals(0, r[0], "nothing of the bad message goes on; cut at " + cut);
      assertEquals(400, r[1]);
    }
    String badChunk = "POST http://a.test/ HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "5\r\nhello\r\n-1\r\n";
    int headAndFirstChunk = badChunk.indexOf("-1");
    for (int cut = 0; cut <= badChunk.length(); cut++) {
      long[] r = run(badChunk, cut);
      assertEquals(headAndFirstChunk, r[0], "the sound part goes on, the bad size line not; cut at " + cut);
      assertEquals(400, r[1]);
    }
  }

  @Test
  void limitsGiveTheirOwnStatuses() {
    assertEquals(414, run("GET http://a.test/" + "a".repeat(9000) + " HTTP/1.1\r\n\r\n")[1]);
    assertEquals(431, run("GET http://a.test/ HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(101) + "\r\n")[1]);
    assertEquals(505, run("GET http://a.test/ HTTP/3.0\r\nHost: a\r\n\r\n")[1]);
  }

  @Test
  void afterConnectTheTunnelsBytesAreNotParsed() {
    String text = "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n\u0016\u0003\u0001 any TLS bytes\n\r";
    assertEquals(List.of((long) text.length(), 0L), List.of(run(text)[0], run(text)[1]));
  }

  /** Feeds {@code text} cut at {@code cut} (0: whole); returns "status reason" of the violation, or "sound". */
  static String verdict(String text, int cut) {
    byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
    Http1Framing f = new Http1Framing(Http1Framing.Mode.REQUEST, Http1Framing.Limits.request(64, 96, 3));
    f.feed(ByteBuffer.wrap(b, 0, cut));
    f.feed(ByteBuffer.wrap(b, cut, b.length - cut));
    return f.failed() ? f.status() + " " + f.reason() : "sound";
  }

  @Test
  void eachViolationHasItsStatusAndReasonWhereverTheBytesAreSplit() {
    String h = "POST /x HTTP/1.1\r\nHost: a\r\n";
    String chunked = h + "Transfer-Encoding: chunked\r\n\r\n";
    String[][] cases = {
        {"GET / HTTP/1.1\nHost: a\r\n\r\n", "400 bare LF"},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "400 bare CR"},
        {"GET /" + "a".repeat(64) + " HTTP/1.1\r\n", "414 request line longer than 64 bytes"},
        {"GET / HTTP/1.1\r\nX: " + "a".repeat(96) + "\r\n", "431 line longer than 96 bytes"},
        {"GET / HTTP/1.1\r\nX: " + "a".repeat(60) + "\r\nY: " + "b".repeat(60) + "\r\n",
            "431 header section larger than 96 bytes"},
        {h + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", "431 more than 3 header lines"},
        {" GET / HTTP/1.1\r\n", "400 request line without a method"},
        {"G(T / HTTP/1.1\r\n", "400 invalid character in the method"},
        {"GET  HTTP/1.1\r\n", "400 request line is not METHOD SP TARGET SP VERSION"},
        {"GET /\u007f HTTP/1.1\r\n", "400 invalid character in the request target"},
        {"GET /a#b HTTP/1.1\r\n", "400 invalid character in the request target"},
        {"GET /caf\u00e9 HTTP/1.1\r\n", "400 invalid character in the request target"},
        {"GET / HTTP/2.0\r\n", "505 HTTP version 2.0 is not supported"},
        {"GET / HTTP/1.1x\r\n", "400 invalid HTTP version"},
        {"CONNECT a.test HTTP/1.1\r\n", "400 CONNECT needs host:port"},
        {h + " folded\r\n", "400 obsolete line folding"},
        {h + "nocolon\r\n", "400 header line without a name and colon"},
        {h + "X : 1\r\n", "400 whitespace between a header name and its colon"},
        {h + "X(: 1\r\n", "400 invalid character in a header name"},
        {h + "X: a\u0000\r\n", "400 control character in a header value"},
        {h + "Content-Length: +5\r\n", "400 Content-Length is not a byte count"},
        {h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", "400 more than one Content-Length"},
        {h + "Transfer-Encoding: gzip, chunked\r\n", "400 Transfer-Encoding other than chunked"},
        {h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "400 more than one Transfer-Encoding"},
        {h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "400 both Content-Length and Transfer-Encoding"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Transfer-Encoding in an HTTP/1.0 request"},
        {"GET / HTTP/1.1\r\n\r\n", "400 HTTP/1.1 request without Host"},
        {h + "Host: b\r\n\r\n", "400 more than one Host"},
        {"GET / HTTP/1.1\r\nHost: a b\r\n", "400 invalid Host"},
        {"CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nContent-Length: 1\r\n\r\n", "400 CONNECT with a body"},
        {chunked + "12345678901234567\r\n", "400 chunk size longer than 16 hex digits"},
        {chunked + ";x\r\n", "400 invalid chunk size"},
        {chunked + "5000000000000000\r\n", "400 invalid chunk size"},
        {chunked + "5;=x\r\n", "400 invalid chunk extension"},
        {chunked + "5 \r\n", "400 invalid chunk extension"},
        {chunked + "5;" + "x".repeat(4095) + "\r\n", "400 line longer than 4096 bytes"},
        {chunked + "1\r\nab", "400 chunk data is not followed by CRLF"},
        {chunked + "0\r\nT: " + "a".repeat(96) + "\r\n", "400 line longer than 96 bytes"},
        {chunked + "0\r\nT: 1\r\n T\r\n", "400 obsolete line folding"},
    };
    for (String[] c : cases) {
      for (int cut = 0; cut <= c[0].length(); cut++) {
        assertEquals(c[1], verdict(c[0], cut), c[0] + " cut at " + cut);
      }
    }
    assertEquals("sound", verdict(chunked + "5;a=b;c\r\nhello\r\n0\r\nT: 1\r\n\r\n", 0));
  }
}
