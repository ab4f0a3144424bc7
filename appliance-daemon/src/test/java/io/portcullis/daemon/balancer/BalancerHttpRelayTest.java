package io.portcullis.daemon.balancer;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The http frontend's relay, request by request, against real peers: nginx (static files, WebDAV PUT, a location that
 * closes without answering, an access log of the headers it received), Squid behind for CONNECT, curl and raw
 * sockets as clients. Pipelining, uploads with and without 100-continue, hop-by-hop headers, HTTP/1.0, smuggling
 * attempts, the header timeout and a server that never answers.
 */
class BalancerHttpRelayTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static int origin;
  static int dav;
  static int squidPort;
  static int web;
  static int sq;
  static Path www;
  static Path hops;
  static byte[] k1;

  @BeforeAll
  static void start() throws Exception {
    www = dir.resolve("www");
    Files.createDirectories(www.resolve("up"));
    k1 = new byte[1024];
    new Random(7).nextBytes(k1);
    Files.write(www.resolve("1k.bin"), k1);
    origin = freePort();
    dav = freePort();
    squidPort = freePort();
    web = freePort();
    sq = freePort();
    hops = dir.resolve("nginx/hops.log");
    Process nginx = cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin, """
          log_format hops '$request|$http_connection|$http_keep_alive|$http_x_hop|$http_te|$http_x_forwarded_for';
          server {
            listen 127.0.0.1:%d;
            root %s;
            access_log %s hops;
            client_max_body_size 64m;
            dav_methods PUT;
            create_full_put_path on;
            location = /drop { return 444; }
          }
        """.formatted(dav, www, hops)));
    Peers.waitForPort(dav, nginx, dir.resolve("nginx/error.log"));
    cleanup.add(Peers.squid(dir.resolve("squid"), squidPort, List.of("http_port 127.0.0.1:" + squidPort,
        "http_access allow localhost", "http_access deny all")));
    String text = TestNodes.balancerConfig("{ name: lb, shutdownGrace: 2s }", freePort(), """
        - { name: web, listen: 127.0.0.1:%d, check: { type: none }, headerTimeout: 1s, xForwardedFor: true,
            servers: [{ name: o, address: 127.0.0.1:%d }] }
        - { name: sq, listen: 127.0.0.1:%d, check: { type: none }, servers: [{ name: s, address: 127.0.0.1:%d }] }
        """.formatted(web, dav, sq, squidPort));
    cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  /** One response as read off the wire: status line, headers (names in lower case), body. */
  record Response(String status, Map<String, String> headers, byte[] body) {
    int code() {
      return Integer.parseInt(status.substring(9, 12));
    }
  }

  /** A raw client connection to the balancer. */
  static final class Conn implements AutoCloseable {
    final Socket socket;
    final InputStream in;
    final OutputStream out;

    Conn(int port) throws IOException {
      socket = new Socket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }

    Conn send(String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return this;
    }

    Response read() throws IOException {
      return read(false);
    }

    /** The next response; {@code head}: it answers a HEAD (no body whatever it says). */
    Response read(boolean head) throws IOException {
      String status = line();
      Map<String, String> headers = new HashMap<>();
      for (String l = line(); !l.isEmpty(); l = line()) {
        int colon = l.indexOf(':');
        headers.put(l.substring(0, colon).toLowerCase(Locale.ROOT), l.substring(colon + 1).strip());
      }
      int code = Integer.parseInt(status.substring(9, 12));
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (head || code == 204 || code == 304) {
        return new Response(status, headers, body.toByteArray());
      }
      if (headers.containsKey("content-length")) {
        body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
      } else if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
        for (int n = Integer.parseInt(line().split(";")[0].strip(), 16); n > 0;
            n = Integer.parseInt(line().split(";")[0].strip(), 16)) {
          body.write(in.readNBytes(n));
          line();
        }
        while (!line().isEmpty()) {
          // trailers
        }
      } else {
        in.transferTo(body);
      }
      return new Response(status, headers, body.toByteArray());
    }

    /** True if the balancer closes the connection now (nothing more comes, end of stream). */
    boolean closed() throws IOException {
      try {
        return in.read() < 0;
      } catch (SocketTimeoutException e) {
        return false;
      }
    }

    String line() throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      int c;
      while ((c = in.read()) != '\n') {
        if (c < 0) {
          throw new IOException("closed after: " + b.toString(StandardCharsets.ISO_8859_1));
        }
        b.write(c);
      }
      String s = b.toString(StandardCharsets.ISO_8859_1);
      return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  static final java.util.concurrent.atomic.AtomicInteger SENTINELS = new java.util.concurrent.atomic.AtomicInteger();

  /**
   * The lines of nginx's header log for requests whose line contains {@code marker}, read once nginx has logged a
   * sentinel request sent after them: nginx (one process) writes each line as its request ends, so what the test sent
   * before is logged by then, and "nothing logged" is a witnessed absence.
   */
  static List<String> logged(String marker) throws Exception {
    String sentinel = "/sentinel-" + SENTINELS.incrementAndGet();
    try (Socket s = new Socket("127.0.0.1", dav)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("GET " + sentinel + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      s.getInputStream().readAllBytes();
    }
    Host.waitUntil("nginx to log " + sentinel, () -> Files.readString(hops).contains("GET " + sentinel + " "));
    return Files.readAllLines(hops).stream().filter(l -> l.contains(marker)).toList();
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrderOnOneKeptConnection() throws Exception {
    try (Conn c = new Conn(web)) {
      c.send("GET /1k.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
          + "HEAD /1k.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /1k.bin?again HTTP/1.1\r\nHost: t\r\n\r\n");
      Response one = c.read();
      assertEquals(200, one.code());
      assertArrayEquals(k1, one.body());
      assertNull(one.headers().get("connection"), "nginx's keep-alive is its connection's, not the client's");
      assertEquals(404, c.read().code());
      Response head = c.read(true);
      assertEquals(200, head.code());
      assertEquals("1024", head.headers().get("content-length"));
      Response again = c.read();
      assertArrayEquals(k1, again.body());
      c.send("GET /1k.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      Response last = c.read();
      assertArrayEquals(k1, last.body());
      assertEquals("close", last.headers().get("connection"));
      assertTrue(c.closed(), "the client asked to close");
    }
  }

  @Test
  void uploadsStreamToTheServerByteExactWithLengthOrChunksAndThrough100Continue() throws Exception {
    Path file = Host.randomFile(dir.resolve("big.bin"), 3 << 20, 11);
    Run put = Curl.in(dir).run("-v", "-H", "Expect: 100-continue", "-T", file.toString(), "-o", "/dev/null", "-w",
        "%{http_code}\n", "http://127.0.0.1:" + web + "/up/length.bin");
    assertTrue(put.output().contains("< HTTP/1.1 100 Continue"), put.output());
    assertTrue(put.output().strip().endsWith("201"), put.output());
    Run chunked = Host.runIn(dir, "sh", "-c", "curl -sS --max-time 60 -H 'Transfer-Encoding: chunked' -T - "
        + "-o /dev/null -w '%{http_code}' http://127.0.0.1:" + web + "/up/chunked.bin < " + file);
    assertEquals("201", chunked.output().strip(), chunked.output());
    for (String name : List.of("length.bin", "chunked.bin")) {
      assertEquals(Host.sha256(file), Host.sha256(www.resolve("up/" + name)), name + " as nginx stored it");
      Path back = dir.resolve("back-" + name);
      assertEquals("200", Curl.in(dir).status("http://127.0.0.1:" + web + "/up/" + name, back));
      assertEquals(Host.sha256(file), Host.sha256(back), name + " read back through the balancer");
    }
  }

  @Test
  void connectionScopedHeadersStopAtTheBalancerAndXForwardedForGetsTheClient() throws Exception {
    try (Conn c = new Conn(web)) {
      c.send("GET /1k.bin?hops HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"
          + "Keep-Alive: 300\r\nTE: trailers\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n");
      assertEquals(200, c.read().code());
    }
    assertEquals(List.of("GET /1k.bin?hops HTTP/1.1|-|-|-|-|10.1.2.3, 127.0.0.1"), logged("?hops"));
  }

  @Test
  void aClientThatHalfClosesAfterItsRequestsGetsEveryAnswerThenTheClose() throws Exception {
    try (Conn c = new Conn(web)) {
      c.send("GET /1k.bin?half1 HTTP/1.1\r\nHost: t\r\n\r\nGET /1k.bin?half2 HTTP/1.1\r\nHost: t\r\n\r\n");
      c.socket.shutdownOutput(); // as nc -N or a script's "send, then shut": the answers must still come
      assertArrayEquals(k1, c.read().body());
      assertArrayEquals(k1, c.read().body());
      assertTrue(c.closed(), "nothing more can come: the balancer closes after the last answer");
    }
    try (Conn c = new Conn(web)) { // half a head, then the end of the input: it can never be whole
      c.send("GET /1k.bin?half3 HTTP/1.1\r\nHo");
      c.socket.shutdownOutput();
      assertTrue(c.closed(), "closed at once (a 408 would come only after headerTimeout)");
    }
    try (Conn c = new Conn(web)) { // a body cut short by the half-close: the server's half request goes too
      c.send("PUT /up/half.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789");
      c.socket.shutdownOutput();
      assertTrue(c.closed());
    }
    assertEquals(2, logged("?half").size(), "both whole requests reached nginx, the half head did not");
    assertFalse(Files.exists(www.resolve("up/half.bin")), "nginx stored no part of the cut upload");
  }

  @Test
  void http10ClientsCloseUnlessTheyAskForKeepAlive() throws Exception {
    try (Conn c = new Conn(web)) {
      Response r = c.send("GET /1k.bin HTTP/1.0\r\n\r\n").read();
      assertArrayEquals(k1, r.body());
      assertEquals("close", r.headers().get("connection"));
      assertTrue(c.closed());
    }
    try (Conn c = new Conn(web)) {
      Response r = c.send("GET /1k.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read();
      assertEquals("keep-alive", r.headers().get("connection"));
      assertArrayEquals(k1, c.send("GET /1k.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").read().body());
    }
  }

  @Test
  void smugglingAttemptsGetAnErrorAndACloseAndNothingReachesTheServer() throws Exception {
    Map<String, Integer> attempts = new java.util.LinkedHashMap<>();
    attempts.put("POST /smuggle-1 HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "0\r\n\r\nGET /smuggle-1b HTTP/1.1\r\nHost: t\r\n\r\n", 400);
    attempts.put("POST /smuggle-2 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n", 400);
    attempts.put("GET /smuggle-3 HTTP/1.1\r\nHost: t\r\nX-A: a\r\n Transfer-Encoding: chunked\r\n\r\n", 400);
    attempts.put("GET /smuggle-4 HTTP/1.1\nHost: t\n\n", 400);
    attempts.put("POST /smuggle-5 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400);
    attempts.put("GET /smuggle-6 HTTP/1.1\r\n\r\n", 400);
    attempts.put("GET /smuggle-7?" + "x".repeat(9000) + " HTTP/1.1\r\nHost: t\r\n\r\n", 414);
    attempts.put("GET /smuggle-8 HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    attempts.put("GET /smuggle-9 HTTP/1.1\r\nHost: t\r\nX-Big: " + "y".repeat(40_000) + "\r\n\r\n", 431);
    for (Map.Entry<String, Integer> a : attempts.entrySet()) {
      try (Conn c = new Conn(web)) {
        Response r = c.send(a.getKey()).read();
        String what = a.getKey().substring(0, Math.min(40, a.getKey().length()));
        assertEquals((int) a.getValue(), r.code(), what);
        assertEquals("close", r.headers().get("connection"), what);
        assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("The request was refused"), what);
        assertTrue(c.closed(), what);
      }
    }
    assertEquals(List.of(), logged("smuggle"));
    // A chunked body that goes bad after its head went on: the server's connection is cut, not reused for more.
    try (Conn c = new Conn(web)) {
      c.send("PUT /up/cut.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXGET /smuggle-10 "
          + "HTTP/1.1\r\nHost: t\r\n\r\n");
      assertTrue(c.closed());
    }
    assertEquals(List.of(), logged("smuggle"));
  }

  @Test
  void aHeadThatDoesNotComeInTimeGets408() throws Exception {
    try (Conn c = new Conn(web)) {
      Response r = c.send("GET /1k.bin HTTP/1.1\r\nHost: t\r\nX-Slow: ").read();
      assertEquals(408, r.code());
      assertTrue(c.closed());
    }
    // Not before headerTimeout (1s): a head finished after a pause of a third of it (the slowness is the input) is
    // served, the pause begun once the balancer has read the first part.
    try (Conn c = new Conn(web)) {
      c.send("GET /1k.bin HTTP/1.1\r\nHost: t\r\nX-Slow: ");
      Wire.awaitReadByPeer(c.socket);
      Thread.sleep(300);
      Response r = c.send("yes\r\n\r\n").read();
      assertEquals(200, r.code(), "a head whole within headerTimeout is served");
    }
  }

  @Test
  void aServerThatClosesWithoutAnsweringIsRetriedThenGives502() throws Exception {
    try (Conn c = new Conn(web)) {
      Response r = c.send("GET /drop HTTP/1.1\r\nHost: t\r\n\r\n").read();
      assertEquals(502, r.code());
      assertTrue(new String(r.body(), StandardCharsets.UTF_8).contains("closed the connection without answering"));
      assertTrue(c.closed());
    }
    assertEquals(4, logged("GET /drop ").size(), "one try and the frontend's 3 retries (a safe request)");
    try (Conn c = new Conn(web)) { // a request with a body is not sent twice
      Response r = c.send("PUT /drop HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok").read();
      assertEquals(502, r.code());
    }
    assertEquals(1, logged("PUT /drop ").size());
  }

  @Test
  void connectThroughTheBalancerTunnelsToSquidsTarget() throws Exception {
    Path got = dir.resolve("tunnelled.bin");
    Curl curl = Curl.in(dir).maxTime(30).proxy(sq);
    Run r = curl.run("-p", "-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin + "/1k.bin");
    assertEquals("200", r.output().strip(), r.output());
    assertArrayEquals(k1, Files.readAllBytes(got));
    Path log = dir.resolve("squid/access.log");
    // Squid logs a tunnel when it has closed.
    Host.waitUntil("Squid to log the CONNECT", () -> Peers.read(log).contains("CONNECT 127.0.0.1:" + origin));
    // And a plain request through the same frontend, Squid fetching it.
    Run plain = curl.run("-o", dir.resolve("plain.bin").toString(), "-w", "%{http_code}",
        "http://127.0.0.1:" + origin + "/1k.bin");
    assertEquals("200", plain.output().strip(), plain.output());
    assertFalse(Arrays.equals(new byte[0], Files.readAllBytes(dir.resolve("plain.bin"))));
  }
}
