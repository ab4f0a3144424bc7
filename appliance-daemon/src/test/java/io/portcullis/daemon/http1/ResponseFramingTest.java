package io.portcullis.daemon.http1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The RESPONSE mode: the response framing walk: where heads and messages end, what persists, what fails. Each stream is fed whole, split
 * in two at every position, and byte by byte; the walk must say the same every time.
 */
class ResponseFramingTest {
  /** What the walk reported: H@n (a head ended after byte n), M@n (a message did), F:reason; then the last state. */
  static String walk(String text, int max, boolean[]... expects) {
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    String whole = walk(bytes, List.of(bytes.length), max, expects);
    for (int split = 1; split < bytes.length; split++) {
      assertEquals(whole, walk(bytes, List.of(split, bytes.length), max, expects), "split at " + split);
    }
    List<Integer> each = new ArrayList<>();
    for (int i = 1; i <= bytes.length; i++) {
      each.add(i);
    }
    assertEquals(whole, walk(bytes, each, max, expects), "byte by byte");
    return whole;
  }

  private static String walk(byte[] bytes, List<Integer> cuts, int max, boolean[]... expects) {
    Http1Framing f = new Http1Framing(Http1Framing.Mode.RESPONSE, Http1Framing.Limits.response(max));
    int next = 0;
    f.expect(expects[next][0], expects[next][1]);
    next++;
    StringBuilder out = new StringBuilder();
    int from = 0;
    for (int cut : cuts) {
      int pos = from;
      while (pos < cut && !f.failed()) {
        ByteBuffer b = ByteBuffer.wrap(bytes, pos, cut - pos);
        long before = f.examined();
        f.feed(b);
        pos += (int) (f.examined() - before);
        if (f.failed()) {
          out.append("F:").append(f.reason()).append(' ');
          break;
        }
        if ((f.event() & Http1Framing.HEAD) != 0) {
          out.append("H@").append(f.examined()).append(f.interim() ? "i" : "").append(' ');
        }
        if ((f.event() & Http1Framing.MESSAGE) != 0) {
          out.append("M@").append(f.examined()).append(' ');
          if (!f.interim() && next < expects.length) {
            f.expect(expects[next][0], expects[next][1]);
            next++;
          }
        }
      }
      from = cut;
    }
    return out.append(f.failed() ? "failed" : f.tunnel() ? "tunnel" : f.closeDelimited() ? "untilClose"
        : f.persistent() ? "persistent" : "close").toString();
  }

  static boolean[] get() {
    return new boolean[] {false, false};
  }

  @Test
  void aContentLengthBodyEndsAfterItsLength() {
    String head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n";
    assertEquals("H@" + head.length() + " M@" + (head.length() + 5) + " persistent", walk(head + "hello", 1024, get()));
  }

  @Test
  void aChunkedBodyEndsAfterItsTrailersWhateverItsExtensions() {
    String head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
    String body = "5;name=\"v\"\r\nhello\r\nA\r\n0123456789\r\n0\r\nExpires: never\r\n\r\n";
    assertEquals("H@" + head.length() + " M@" + (head.length() + body.length()) + " persistent",
        walk(head + body, 1024, get()));
  }

  @Test
  void interimResponsesComeBeforeTheFinalOneAndEndAtTheirHead() {
    String cont = "HTTP/1.1 100 Continue\r\n\r\n";
    String hints = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
    String fin = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    int a = cont.length();
    int b = a + hints.length();
    int c = b + fin.length() - 2;
    assertEquals("H@" + a + "i M@" + a + " H@" + b + "i M@" + b + " H@" + c + " M@" + (c + 2) + " persistent",
        walk(cont + hints + fin, 1024, get()));
  }

  @Test
  void headNoContentAndNotModifiedHaveNoBodyWhateverTheirLength() {
    String head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    assertEquals("H@" + head.length() + " M@" + head.length() + " persistent",
        walk(head, 1024, new boolean[] {true, false}));
    String none = "HTTP/1.1 204 No Content\r\n\r\n";
    String same = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
    int n = none.length();
    int s = n + same.length();
    assertEquals("H@" + n + " M@" + n + " H@" + s + " M@" + s + " persistent", walk(none + same, 1024, get(), get()));
  }

  @Test
  void keepAliveResponsesFollowOneAnotherOnOneConnection() {
    String one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
    String two = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n";
    int a = one.length();
    assertEquals("H@" + (a - 1) + " M@" + a + " H@" + (a + two.indexOf("\r\n\r\n") + 4) + " M@" + (a + two.length())
        + " persistent", walk(one + two, 1024, get(), get()));
  }

  @Test
  void connectionSaysWhetherTheServerKeepsTheConnection() {
    assertTrue(walk("HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\nContent-Length: 0\r\n\r\n", 1024, get())
        .endsWith(" close"));
    assertTrue(walk("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 1024, get())
        .endsWith(" persistent"));
    assertTrue(walk("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 1024, get()).endsWith(" close"));
  }

  @Test
  void withoutLengthOrChunksTheBodyRunsToTheClose() {
    String head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    assertEquals("H@" + head.length() + " untilClose", walk(head + "all of this, and more", 1024, get()));
    String other = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n";
    assertEquals("H@" + other.length() + " untilClose", walk(other + "\u001f\u008b", 1024, get()));
  }

  @Test
  void aConnect2xxOrA101MakesATunnelAndAnotherAnswerToConnectDoesNot() {
    String ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    assertEquals("H@" + ok.length() + " tunnel", walk(ok + "\u0016\u0003\u0001 tls bytes", 1024,
        new boolean[] {false, true}));
    String refused = "HTTP/1.1 403 Forbidden\r\nContent-Length: 3\r\n\r\nno\n";
    assertEquals("H@" + (refused.length() - 3) + " M@" + refused.length() + " persistent",
        walk(refused, 1024, new boolean[] {false, true}));
    String up = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assertEquals("H@" + up.length() + " tunnel", walk(up + "frames", 1024, get()));
  }

  @Test
  void whatCannotBeFramedSafelyFailsWithAReason() {
    assertEquals("F:both Content-Length and Transfer-Encoding failed",
        walk("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 1024,
            get()));
    assertEquals("F:Content-Lengths that differ failed",
        walk("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 1024, get()));
    String twice = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n";
    assertEquals("H@" + twice.length() + " M@" + (twice.length() + 3) + " persistent", // equal copies: one length
        walk(twice + "abc", 1024, get()));
    assertEquals("F:Content-Length is not a byte count failed",
        walk("HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc", 1024, get()));
    assertEquals("F:not an HTTP/1.x status line failed", walk("HTTP/2 200 OK\r\n\r\n", 1024, get()));
    assertEquals("F:bare LF failed", walk("HTTP/1.1 200 OK\nContent-Length: 0\n\n", 1024, get()));
    assertEquals("F:obsolete line folding failed",
        walk("HTTP/1.1 200 OK\r\nX-A: 1\r\n Content-Length: 5\r\n\r\n", 1024, get()));
    assertEquals("H@47 F:chunk data is not followed by CRLF failed", // the head went on; the body fails
        walk("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 1024, get()));
    assertEquals("H@47 F:invalid chunk size failed",
        walk("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n0\r\n\r\n", 1024, get()));
    assertEquals("F:response head larger than 64 bytes failed",
        walk("HTTP/1.1 200 OK\r\nX-Long: " + "x".repeat(60) + "\r\n\r\n", 64, get()));
    String one = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na";
    assertEquals("H@" + (one.length() - 1) + " M@" + one.length() + " F:bytes after the end of the response failed",
        walk(one + "HTTP/1.1 200 OK\r\n\r\n", 1024, get()));
  }

  @Test
  void theServersCloseEndsACloseDelimitedBodyOnly() {
    Http1Framing f = new Http1Framing(Http1Framing.Mode.RESPONSE, Http1Framing.Limits.response(1024));
    f.expect(false, false);
    f.feed(ByteBuffer.wrap("HTTP/1.0 200 OK\r\n\r\nabc".getBytes(StandardCharsets.US_ASCII)));
    assertTrue(f.closeDelimited());
    f.closed();
    assertFalse(f.closeDelimited());
    assertFalse(f.persistent());
  }
}
