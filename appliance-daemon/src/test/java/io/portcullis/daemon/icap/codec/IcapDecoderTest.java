package io.portcullis.daemon.icap.codec;

import static io.portcullis.daemon.icap.codec.DecoderHarness.decode;
import static io.portcullis.daemon.icap.codec.DecoderHarness.everyByte;
import static io.portcullis.daemon.icap.codec.DecoderHarness.randomCuts;
import static io.portcullis.daemon.icap.codec.DecoderHarness.resource;
import static io.portcullis.daemon.icap.codec.DecoderHarness.whole;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The decoder on real Squid ↔ c-icap bytes, split at every position, and on hand-checked meanings. */
class IcapDecoderTest {

  static Stream<Arguments> vectors() {
    return Stream.of(
        "01-OPTIONS-echo.request.txt", "02-REQMOD-echo-get-1k.bin.request.txt",
        "04-RESPMOD-echo-get-1k.bin.request.txt", "05-REQMOD-echo-post-post.request.txt",
        "06-RESPMOD-echo-post-post.request.txt", "07-REQMOD-echo-get-64k.bin.request.txt",
        "08-RESPMOD-echo-get-64k.bin.request.txt", "09-REQMOD-echo-get-1m.bin.request.txt",
        "10-RESPMOD-echo-get-1m.bin.request.txt",
        "01-OPTIONS-echo.response.txt", "02-REQMOD-echo-get-1k.bin.response.txt",
        "04-RESPMOD-echo-get-1k.bin.response.txt", "05-REQMOD-echo-post-post.response.txt",
        "08-RESPMOD-echo-get-64k.bin.response.txt", "10-RESPMOD-echo-get-1m.bin.response.txt")
        .map(name -> Arguments.of(name));
  }

  static IcapDecoder.Mode mode(String name) {
    return name.endsWith(".request.txt") ? IcapDecoder.Mode.REQUEST : IcapDecoder.Mode.RESPONSE;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void everySplitOfACaptureDecodesTheSame(String name) {
    byte[] data = resource(name);
    IcapDecoder.Mode mode = mode(name);
    List<String> expected = whole(mode, data);
    assertFalse(expected.stream().anyMatch(l -> l.startsWith("Error")), () -> name + ": " + expected);
    assertTrue(expected.get(expected.size() - 1).startsWith("End") || expected.contains("PREVIEW-END"),
        () -> name + " ends mid-message: " + expected);
    assertEquals(expected, decode(mode, data, everyByte(data.length)), "one byte at a time");
    // Every two-piece split (all of them for small vectors, the heads and random ones for the big).
    int step = data.length <= 8192 ? 1 : 97;
    for (int cut = 1; cut < data.length; cut += (cut < 2048 ? 1 : step)) {
      int at = cut;
      assertEquals(expected, decode(mode, data, new int[] {cut}), () -> "split at " + at);
    }
    for (long seed = 0; seed < 25; seed++) {
      long s = seed;
      assertEquals(expected, decode(mode, data, randomCuts(data.length, seed)), () -> "random split seed " + s);
    }
  }

  @Test
  void optionsFromSquidHasNoEncapsulatedAndNoBody() {
    List<String> lines = whole(IcapDecoder.Mode.REQUEST, resource("01-OPTIONS-echo.request.txt"));
    assertEquals(2, lines.size(), lines.toString());
    assertTrue(lines.get(0).contains("method=OPTIONS"), lines.get(0));
    assertTrue(lines.get(0).contains("body=NULL_BODY"), lines.get(0));
    assertTrue(lines.get(1).startsWith("End"));
  }

  @Test
  void reqmodGetCarriesTheHttpRequestHead() {
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    List<IcapDecoder.Event> events = d.feed(ByteBuffer.wrap(resource("02-REQMOD-echo-get-1k.bin.request.txt")));
    IcapRequest r = (IcapRequest) ((IcapDecoder.Head) events.get(0)).message();
    assertEquals("REQMOD", r.method());
    assertEquals("/echo", r.servicePath());
    assertEquals(0, r.preview());
    assertFalse(r.hasPreview());
    assertEquals("127.0.0.1", r.headers().get("X-Client-IP"));
    assertTrue(r.headers().hasToken("Allow", "204"));
    assertEquals("GET", r.httpRequest().method());
    assertEquals("http://127.0.0.1:18080/1k.bin", r.httpRequest().url());
    assertEquals("127.0.0.1", r.httpRequest().host());
    assertEquals(BodyKind.NULL_BODY, r.body());
    assertTrue(events.get(1) instanceof IcapDecoder.End);
    assertTrue(d.idle());
  }

  @Test
  void reqmodPostPreviewPausesUntilContinuedAndCarriesTheWholeBody() {
    byte[] data = resource("05-REQMOD-echo-post-post.request.txt");
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    List<IcapDecoder.Event> events = d.feed(ByteBuffer.wrap(data));
    IcapRequest r = (IcapRequest) ((IcapDecoder.Head) events.get(0)).message();
    assertEquals(1024, r.preview());
    assertTrue(r.hasPreview());
    assertTrue(events.get(events.size() - 1) instanceof IcapDecoder.PreviewEnd);
    long previewBytes = events.stream().filter(e -> e instanceof IcapDecoder.Body)
        .mapToLong(e -> ((IcapDecoder.Body) e).data().remaining()).sum();
    assertEquals(1024, previewBytes);
    List<IcapDecoder.Event> rest = d.continueBody();
    long restBytes = rest.stream().filter(e -> e instanceof IcapDecoder.Body)
        .mapToLong(e -> ((IcapDecoder.Body) e).data().remaining()).sum();
    assertEquals(4096 - 1024, restBytes);
    assertTrue(rest.get(rest.size() - 1) instanceof IcapDecoder.End);
  }

  @Test
  void respmodWholeBodyInPreviewEndsWithIeof() {
    List<String> lines = whole(IcapDecoder.Mode.REQUEST, resource("04-RESPMOD-echo-get-1k.bin.request.txt"));
    assertFalse(lines.contains("PREVIEW-END"), lines.toString());
    assertTrue(lines.get(1).startsWith("BODY 1024 "), lines.toString());
    assertTrue(lines.get(2).startsWith("End"), lines.toString());
  }

  @Test
  void finalAnswerAfterPreviewLetsTheNextMessageFollow() {
    byte[] first = resource("10-RESPMOD-echo-get-1m.bin.request.txt");
    byte[] second = resource("02-REQMOD-echo-get-1k.bin.request.txt");
    byte[] both = new byte[first.length + second.length];
    System.arraycopy(first, 0, both, 0, first.length);
    System.arraycopy(second, 0, both, first.length, second.length);
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    List<IcapDecoder.Event> events = d.feed(ByteBuffer.wrap(both));
    assertTrue(events.get(events.size() - 1) instanceof IcapDecoder.PreviewEnd);
    List<IcapDecoder.Event> next = d.skipBody();
    assertEquals("REQMOD", ((IcapRequest) ((IcapDecoder.Head) next.get(0)).message()).method());
    assertTrue(next.get(1) instanceof IcapDecoder.End);
  }

  @Test
  void aClientThatSendsTooMuchBeforeThePreviewIsAnsweredGetsAnErrorAndNoException() {
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    List<IcapDecoder.Event> events = d.feed(ByteBuffer.wrap(resource("10-RESPMOD-echo-get-1m.bin.request.txt")));
    assertTrue(events.get(events.size() - 1) instanceof IcapDecoder.PreviewEnd);
    List<IcapDecoder.Event> more = d.feed(ByteBuffer.wrap(new byte[200 * 1024]));
    assertTrue(more.get(more.size() - 1) instanceof IcapDecoder.Error, more.toString());
    assertTrue(d.failed());
    // The server answers the preview only after it decided; by then the Error is queued: both calls stay quiet.
    assertTrue(d.continueBody().isEmpty());
    assertTrue(d.skipBody().isEmpty());
  }

  @Test
  void responsesAfter100ContinueDecodeOneAfterAnother() {
    List<String> lines = whole(IcapDecoder.Mode.RESPONSE, resource("08-RESPMOD-echo-get-64k.bin.response.txt"));
    assertTrue(lines.get(0).contains("status=100"), lines.get(0));
    assertTrue(lines.get(1).startsWith("End"));
    assertTrue(lines.get(2).contains("status=200"), lines.get(2));
    assertTrue(lines.get(3).startsWith("BODY 65536 "), lines.toString());
  }

  @Test
  void pipelinedMessagesDecodeInOrder() {
    byte[] a = resource("01-OPTIONS-echo.request.txt");
    byte[] b = resource("02-REQMOD-echo-get-1k.bin.request.txt");
    byte[] c = resource("04-RESPMOD-echo-get-1k.bin.request.txt");
    byte[] all = new byte[a.length + b.length + c.length + 2];
    System.arraycopy(a, 0, all, 0, a.length);
    all[a.length] = '\r'; // a stray CRLF between messages is tolerated
    all[a.length + 1] = '\n';
    System.arraycopy(b, 0, all, a.length + 2, b.length);
    System.arraycopy(c, 0, all, a.length + 2 + b.length, c.length);
    List<String> lines = whole(IcapDecoder.Mode.REQUEST, all);
    assertEquals(7, lines.size(), lines.toString());
    assertEquals(lines, decode(IcapDecoder.Mode.REQUEST, all, everyByte(all.length)));
  }

  @Test
  void chunkExtensionsAndTrailersAreRead() {
    String msg = "RESPMOD icap://h/av/respmod ICAP/1.0\r\nHost: h\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\n"
        + "HTTP/1.1 200 OK\r\n\r\n"
        + "3;name=\"va;l\\\"ue\" ; other=tok\r\nabc\r\n0\r\nX-Trailer: yes\r\n\r\n";
    List<String> lines = whole(IcapDecoder.Mode.REQUEST, msg.getBytes(StandardCharsets.ISO_8859_1));
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(1).startsWith("BODY 3 "));
    assertTrue(lines.get(2).contains("X-Trailer: yes"), lines.get(2));
  }

  /** Decodes one whole message and returns its head, or fails with the decoder's error. */
  private static IcapRequest head(String message) {
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    for (IcapDecoder.Event e : d.feed(ByteBuffer.wrap(message.getBytes(StandardCharsets.ISO_8859_1)))) {
      if (e instanceof IcapDecoder.Head h) {
        return (IcapRequest) h.message();
      }
      assertFalse(e instanceof IcapDecoder.Error, () -> message + " -> " + e);
    }
    throw new AssertionError("no head: " + message);
  }

  private static String error(String message) {
    IcapDecoder d = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);
    for (IcapDecoder.Event e : d.feed(ByteBuffer.wrap(message.getBytes(StandardCharsets.ISO_8859_1)))) {
      if (e instanceof IcapDecoder.Error err) {
        return err.reason();
      }
    }
    throw new AssertionError("accepted: " + message);
  }

  @Test
  void headerNamesAndValuesAreKeptByteForByteWithTheSurroundingWhitespaceOfStringStripRemoved() {
    String http = "GET http://a.test/caf\u00e9 HTTP/1.1\r\nHost:a.test\r\nX-Pad: \t\u000b v\u00e9 \t x\u001f \r\n"
        + "X-Empty:\r\n\r\n";
    IcapRequest r = head("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\nX-Client-IP:  10.0.0.7\t\r\n"
        + "ALLOW: 204\r\nAllox: 1\r\nHos: 2\r\nEncapsulated: req-hdr=0, null-body=" + http.length() + "\r\n\r\n" + http);
    assertEquals("REQMOD", r.method());
    assertEquals("icap://127.0.0.1/av/reqmod", r.uri());
    assertEquals("10.0.0.7", r.headers().get("x-client-ip"));
    // Names as sent, also where a common name of that length is known (Allow, Host): only an exact spelling is shared.
    assertEquals(List.of("Host", "X-Client-IP", "ALLOW", "Allox", "Hos"),
        r.headers().fields().stream().map(Headers.Field::name).toList());
    assertTrue(r.headers().hasToken("Allow", "204"));
    assertEquals("1", r.headers().get("allox"));
    assertEquals("GET http://a.test/caf\u00e9 HTTP/1.1", r.httpRequest().startLine());
    assertEquals("a.test", r.httpRequest().headers().get("Host"));
    assertEquals("v\u00e9 \t x", r.httpRequest().headers().get("X-Pad"));
    assertEquals("", r.httpRequest().headers().get("X-Empty"));
  }

  @Test
  void eachHeaderBlockDefectIsNamedInTheError() {
    String icap = "REQMOD icap://h/av/reqmod ICAP/1.0\r\nHost: h\r\n";
    java.util.function.Function<String, String> withHttp = head -> icap + "Encapsulated: req-hdr=0, null-body="
        + head.length() + "\r\n\r\n" + head;
    assertEquals("bare CR or LF in the ICAP header section", error(icap + "X: a\rb\r\nEncapsulated: null-body=0\r\n\r\n"));
    assertEquals("ICAP header uses obsolete line folding", error(icap + " folded\r\nEncapsulated: null-body=0\r\n\r\n"));
    assertEquals("ICAP header line has no name: \": v\"", error(icap + ": v\r\nEncapsulated: null-body=0\r\n\r\n"));
    assertEquals("ICAP header name \"Bad Name\" is not a token", error(icap + "Bad Name: v\r\n\r\n"));
    assertEquals("ICAP header X has a control character", error(icap + "X: a\u0001b\r\n\r\n"));
    assertEquals("ICAP request line is not METHOD SP URI SP ICAP/1.0",
        error("REQMOD  icap://h/av/reqmod ICAP/1.0\r\n\r\n"));
    assertEquals("unsupported ICAP version \"ICAP/1.1\"", error("REQMOD icap://h/av/reqmod ICAP/1.1\r\n\r\n"));
    assertEquals("req-hdr: bare CR, LF or NUL in the HTTP header block",
        error(withHttp.apply("GET / HTTP/1.1\r\nHost: a\u0000\r\n\r\n")));
    assertEquals("req-hdr: bare CR, LF or NUL in the HTTP header block",
        error(withHttp.apply("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n")));
    assertEquals("req-hdr: an empty line ends the header block before the next offset",
        error(withHttp.apply("GET / HTTP/1.1\r\n\r\nHost: a\r\n\r\n")));
    assertEquals("req-hdr: \"GET  / HTTP/1.1\" is not an HTTP request line",
        error(withHttp.apply("GET  / HTTP/1.1\r\nHost: a\r\n\r\n")));
    assertEquals("req-hdr: HTTP method \"G(T\" is not a token", error(withHttp.apply("G(T / HTTP/1.1\r\n\r\n")));
    assertEquals("req-hdr: HTTP header X has a control character",
        error(withHttp.apply("GET / HTTP/1.1\r\nX: a\u007fb\r\n\r\n")));
  }
}
