package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** curl through our proxy to a real nginx (plain and TLS) and to an echo origin that hashes what it receives. */
class ProxyInteropTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static Curl curl;
  static int origin;
  static int tlsOrigin;
  static int echoPort;
  static int proxy;
  static Path www;
  static volatile String lastEchoHeaders = "";

  @BeforeAll
  static void start() throws Exception {
    www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("1k.bin"), 1024, 3);
    Host.randomFile(www.resolve("5m.bin"), 5 << 20, 4);
    Host.randomFile(www.resolve("100m.bin"), 100 << 20, 5);
    Path cert = Peers.selfSigned(dir.resolve("tls"), "origin", "localhost");
    origin = freePort();
    tlsOrigin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin,
        Peers.tlsServer(tlsOrigin, cert, dir.resolve("tls/origin.key"), www)));
    echoPort = freePort();
    HttpServer echo = cleanup.add(HttpServer.create(new InetSocketAddress("127.0.0.1", echoPort), 64), s -> s.stop(0));
    echo.createContext("/", ex -> {
      lastEchoHeaders = ex.getRequestHeaders().entrySet().toString();
      MessageDigest md;
      try {
        md = MessageDigest.getInstance("SHA-256");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      long n = 0;
      try (InputStream in = ex.getRequestBody()) {
        byte[] buf = new byte[65536];
        int r;
        while ((r = in.read(buf)) > 0) {
          md.update(buf, 0, r);
          n += r;
        }
      }
      byte[] out = (n + " " + HexFormat.of().formatHex(md.digest())).getBytes(StandardCharsets.US_ASCII);
      ex.sendResponseHeaders(200, 0); // 0: chunked
      try (OutputStream o = ex.getResponseBody()) {
        o.write(out);
      }
    });
    echo.start();
    proxy = freePort();
    curl = Curl.in(dir).maxTime(120).proxy(proxy);
    String text = "admin: { listen: 127.0.0.1:" + freePort() + " }\nicap: { enabled: false }\n"
        + "proxy: { deniedDestinations: [], listen: 127.0.0.1:" + proxy + ", xForwardedFor: true, connectPorts: [443, " + tlsOrigin + "] }\n";
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  @Test
  void downloadsArriveByteForByte() throws Exception {
    for (String name : List.of("1k.bin", "5m.bin", "100m.bin")) {
      Path got = dir.resolve("got-" + name);
      Run r = curl.run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin + "/" + name);
      assertEquals("200", r.output().strip(), name + ": " + r.output());
      assertEquals(Host.sha256(www.resolve(name)), Host.sha256(got), name);
      Files.delete(got);
    }
  }

  @Test
  void uploadsArriveByteForByteWithProxyHeaders() throws Exception {
    Path body = dir.resolve("upload.bin");
    byte[] data = new byte[3_000_000];
    new Random(9).nextBytes(data);
    Files.write(body, data);
    Run r = curl.run("--data-binary", "@" + body, "-H", "Connection: X-Secret", "-H", "X-Secret: hop",
        "http://127.0.0.1:" + echoPort + "/post");
    assertEquals("3000000 " + Host.sha256(body), r.output().strip());
    String chunked = curl.run("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body,
        "http://127.0.0.1:" + echoPort + "/post").output().strip();
    assertEquals("3000000 " + Host.sha256(body), chunked, "a chunked upload");
    assertTrue(lastEchoHeaders.contains("Via=[1.1 portcullis (Portcullis)]"), lastEchoHeaders);
    assertTrue(lastEchoHeaders.contains("X-forwarded-for=[127.0.0.1]"), lastEchoHeaders);
    Run again = curl.run("--data-binary", "@" + body, "-H", "Connection: X-Secret", "-H", "X-Secret: hop",
        "http://127.0.0.1:" + echoPort + "/post");
    assertEquals(0, again.exit());
    assertTrue(!lastEchoHeaders.contains("X-secret"), "a header named in Connection is hop-by-hop: " + lastEchoHeaders);
  }

  @Test
  void keepAliveReusesTheClientConnectionAndHeadHasNoBody() throws Exception {
    String u = "http://127.0.0.1:" + origin + "/1k.bin";
    Run two = curl.run("-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects};", u, u);
    assertEquals("1;0;", two.output().strip(), "the second request rides the first connection");
    Run head = curl.run("-I", "-w", "%{size_download}", u);
    assertTrue(head.output().contains("Content-Length: 1024"), head.output());
    assertTrue(head.output().strip().endsWith("0"), head.output());
  }

  @Test
  void connectTunnelsToAllowedPortsOnly() throws Exception {
    Path got = dir.resolve("tls-1k");
    Run ok = curl.run("-k", "-o", got.toString(), "-w", "%{http_connect} %{http_code}",
        "https://127.0.0.1:" + tlsOrigin + "/1k.bin");
    assertEquals("200 200", ok.output().strip(), ok.output());
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
    Run refused = curl.run("-k", "-w", "%{http_connect}", "https://127.0.0.1:25/");
    assertTrue(refused.output().strip().endsWith("403"), refused.output());
  }

  @Test
  void badTargetsGetErrorPages() throws Exception {
    assertEquals("502", curl.status("http://127.0.0.1:" + freePort() + "/", dir.resolve("502.html")));
    assertTrue(Files.readString(dir.resolve("502.html")).contains("could not be reached"));
    // Not through the proxy: a request in origin form sent to it.
    assertEquals("400", Curl.in(dir).status("http://127.0.0.1:" + proxy + "/index.html"));
    // A refused request closes its connection: nothing that follows on it is read as a request.
    try (java.net.Socket sock = new java.net.Socket("127.0.0.1", proxy)) {
      sock.setSoTimeout(5000);
      sock.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET http://127.0.0.1:" + echoPort
          + "/second HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String answer = new String(sock.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
      assertEquals(1, answer.split("HTTP/1.1 ").length - 1, "one answer, then the close: " + answer);
    }
  }

  @Test
  void clientsOutsideAllowedNetworksGet403() throws Exception {
    String before = daemon.commits().active().text();
    TestNodes.commit(daemon, before.replace("xForwardedFor: true", "xForwardedFor: true, allowedClients: [10.9.9.0/24]"),
        "deny loopback");
    try {
      assertEquals("403", curl.status("http://127.0.0.1:" + origin + "/1k.bin"));
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }
}
