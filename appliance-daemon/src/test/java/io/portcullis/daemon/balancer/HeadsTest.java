package io.portcullis.daemon.balancer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The head rewrite for the next hop: what goes, what is added, what passes unchanged. */
class HeadsTest {
  static ByteBuf buf(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }

  static String text(ByteBuf b) {
    String s = b.toString(StandardCharsets.ISO_8859_1);
    b.release();
    return s;
  }

  @Test
  void aHeadWithNothingToChangeIsPassedOnAsItCame() {
    Heads h = new Heads();
    ByteBuf in = buf("GET http://a/ HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
    assertSame(in, h.request(in, null, ByteBufAllocator.DEFAULT));
    in.release();
  }

  @Test
  void connectionScopedHeadersAndThoseConnectionListsStayOnTheirConnection() {
    Heads h = new Heads();
    String out = text(h.request(buf("\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Hop\r\n"
        + "X-Hop: secret\r\nKeep-Alive: 300\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
        + "Proxy-Authorization: Basic eDp5\r\nX-Hopper: stays\r\n\r\n"), null, ByteBufAllocator.DEFAULT));
    assertEquals("GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic eDp5\r\nX-Hopper: stays\r\n\r\n", out);
    assertTrue(h.keepAlive);
    assertTrue(!h.close);
  }

  @Test
  void xForwardedForGetsTheClientAppendedAfterWhatTheClientSent() {
    Heads h = new Heads();
    String out = text(h.request(buf("GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nHost: a\r\n"
        + "x-forwarded-for: 10.0.0.2 \r\nConnection: close\r\n\r\n"), "127.0.0.9", ByteBufAllocator.DEFAULT));
    assertEquals("GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.9\r\n\r\n", out);
    assertTrue(h.close);
    assertEquals("GET / HTTP/1.0\r\nX-Forwarded-For: 127.0.0.9\r\n\r\n",
        text(h.request(buf("GET / HTTP/1.0\r\n\r\n"), "127.0.0.9", ByteBufAllocator.DEFAULT)));
  }

  @Test
  void aResponseKeepsTransferEncodingAndGetsTheRelaysConnection() {
    Heads h = new Heads();
    String out = text(h.response(buf("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
        + "Transfer-Encoding: chunked\r\n\r\n"), "close", ByteBufAllocator.DEFAULT));
    assertEquals("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n", out);
  }
}
