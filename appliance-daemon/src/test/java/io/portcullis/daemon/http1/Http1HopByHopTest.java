package io.portcullis.daemon.http1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The hop-by-hop sets and the copy that leaves them, and what Connection names, behind. */
class Http1HopByHopTest {
  @Test
  void theProxysSetHasEveryConnectionScopedFieldInAnyCase() {
    for (String n : List.of("Connection", "KEEP-ALIVE", "proxy-connection", "TE", "Trailer", "Transfer-Encoding",
        "Upgrade", "Proxy-Authorization", "Proxy-Authenticate")) {
      assertTrue(HopByHop.hopByHop(n), n);
    }
    for (String n : List.of("Content-Length", "Host", "T", "Trailers", "X-Connection", "")) {
      assertFalse(HopByHop.hopByHop(n), n);
    }
  }

  @Test
  void theRelaysSetsKeepWhatItPassesOnAsFramed() {
    assertEquals(Set.of("connection", "keep-alive", "proxy-connection", "te", "upgrade"),
        HopByHop.RELAY_REQUEST.names());
    assertEquals(Set.of("connection", "keep-alive", "proxy-connection"), HopByHop.RELAY_RESPONSE.names());
    byte[] line = "Transfer-Encoding: chunked".getBytes(StandardCharsets.ISO_8859_1);
    assertFalse(HopByHop.RELAY_REQUEST.test(line, 0, 17));
    assertTrue(HopByHop.PROXY.test(line, 0, 17));
    byte[] te = "tE: trailers".getBytes(StandardCharsets.ISO_8859_1);
    assertTrue(HopByHop.RELAY_REQUEST.test(te, 0, 2));
    assertFalse(HopByHop.RELAY_RESPONSE.test(te, 0, 2));
  }

  @Test
  void copyHeadersDropsTheSetAndWhatConnectionNames() {
    MultiMap from = MultiMap.caseInsensitiveMultiMap().add("Host", "a").add("Connection", "close, X-Hop")
        .add("connection", "x-other").add("X-Hop", "1").add("X-OTHER", "2").add("Keep-Alive", "300")
        .add("Transfer-Encoding", "chunked").add("Accept", "*/*").add("Accept", "text/html");
    MultiMap to = MultiMap.caseInsensitiveMultiMap();
    HopByHop.copyHeaders(from, to);
    assertEquals("Host=a,Accept=*/*,Accept=text/html", String.join(",",
        to.entries().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
    MultiMap relayed = MultiMap.caseInsensitiveMultiMap();
    HopByHop.RELAY_RESPONSE.copy(from, relayed);
    assertTrue(relayed.contains("Transfer-Encoding"));
    assertFalse(relayed.contains("X-Hop"));
  }
}
