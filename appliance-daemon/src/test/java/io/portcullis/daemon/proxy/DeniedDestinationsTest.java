package io.portcullis.daemon.proxy;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * proxy.deniedDestinations and the node's own ports: however the address is written (names, short and numeric IPv4,
 * IPv6, IPv4-mapped IPv6), plain or CONNECT, the proxy refuses with 403 and an event before any connection is opened:
 * a witness server on loopback counts every connection it accepts.
 */
class DeniedDestinationsTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;
  Curl curl;
  int admin;
  int proxy;
  int icap;
  String token;
  ServerSocket witness;
  final AtomicInteger accepted = new AtomicInteger();

  @BeforeEach
  void setUp() throws Exception {
    witness = cleanup.add(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    Thread t = new Thread(() -> {
      while (!witness.isClosed()) {
        try (Socket s = witness.accept()) {
          accepted.incrementAndGet();
          s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nwitness"
              .getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
          // closed at the end of the test
        }
      }
    }, "witness");
    t.setDaemon(true);
    t.start();
    admin = freePort();
    proxy = freePort();
    icap = freePort();
    curl = Curl.in(dir).hideErrors().maxTime(20).proxy(proxy).with("-i");
  }

  void start(String proxyExtra) throws Exception {
    String text = "node: { name: denied-test, shutdownGrace: 1s }\n"
        + "admin: { listen: 127.0.0.1:" + admin + " }\n"
        + "icap: { listen: 127.0.0.1:" + icap + " }\n"
        + "proxy: { listen: 127.0.0.1:" + proxy + ", accessLog: access.log, connectPorts: [443, " + witness.getLocalPort()
        + ", " + admin + "]" + proxyExtra + " }\n";
    cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("data"));
  }

  /** One request written as given, through the proxy; the status line of its answer and the body. */
  String raw(String request) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
      }
      return out.toString(StandardCharsets.ISO_8859_1);
    }
  }

  String get(String authority) throws IOException {
    return raw("GET http://" + authority + "/x HTTP/1.1\r\nHost: " + authority + "\r\nConnection: close\r\n\r\n");
  }

  String curl(String url) throws Exception {
    return curl.run(url).output();
  }

  List<JsonObject> events(String rule) throws Exception {
    TestNodes.Answer a = call("GET", "http://127.0.0.1:" + admin + "/api/v1/events?limit=1000&rule=" + rule, token,
        null);
    assertEquals(200, a.status(), a.body());
    JsonArray e = a.json().getJsonArray("events");
    return e.stream().map(o -> (JsonObject) o).toList();
  }

  @Test
  void loopbackWrittenAnyWayIsRefusedBeforeAnyConnection() throws Exception {
    start("");
    int w = witness.getLocalPort();
    // Names and every address form that resolves to loopback: refused by the list, after resolution.
    List<String> denied = List.of("127.0.0.1:" + w, "localhost:" + w, "LOCALHOST:" + w, "127.0.0.2:" + w,
        "[::ffff:127.0.0.1]:" + w, "[0:0:0:0:0:ffff:7f00:1]:" + w, "[::1]:" + w, "0.0.0.0:" + w);
    for (String a : denied) {
      String answer = get(a);
      assertTrue(answer.startsWith("HTTP/1.1 403 "), a + " -> " + answer);
      assertTrue(answer.contains("is in proxy.deniedDestinations"), a + " -> " + answer);
    }
    // Short, numeric, octal, hex and dotted forms are not host names the proxy takes: 400, never a connection.
    for (String a : List.of("127.1:" + w, "2130706433:" + w, "127.000.000.001:" + w, "0177.0.0.1:" + w,
        "127.0.0.1.:" + w, "0:" + w)) {
      String answer = get(a);
      assertTrue(answer.startsWith("HTTP/1.1 400 ") && answer.contains("no valid host"), a + " -> " + answer);
    }
    // Hex forms are names to the proxy's resolver (as to Squid's), which knows no such host: 502, no connection.
    for (String a : List.of("0x7f.0.0.1:" + w, "0x7f000001:" + w)) {
      String answer = get(a);
      assertTrue(answer.startsWith("HTTP/1.1 502 "), a + " -> " + answer);
    }
    String tunnel = raw("CONNECT 127.0.0.1:" + w + " HTTP/1.1\r\nHost: 127.0.0.1:" + w + "\r\n\r\n");
    assertTrue(tunnel.startsWith("HTTP/1.1 403 "), tunnel);
    String viaCurl = curl("http://127.0.0.1:" + admin + "/health/ready");
    assertTrue(viaCurl.startsWith("HTTP/1.1 403 "), viaCurl);
    assertTrue(viaCurl.contains("the admin API of this node"), viaCurl);
    assertEquals(0, accepted.get(), "no connection reached the loopback witness");
    // Each refusal is an event and an access-log line with its reason.
    Host.waitUntil(() -> events("proxy.deniedDestinations").size() == denied.size() + 2);
    JsonObject e = events("proxy.deniedDestinations").get(0);
    assertEquals("block", e.getString("action"), e.encode());
    // The access log is written in batches off the traffic threads: waited for, not read at once.
    Host.waitUntil("the access-log line of the refusal", () -> Files.exists(dir.resolve("access.log"))
        && Files.readString(dir.resolve("access.log")).contains("TCP_DENIED/403")
        && Files.readString(dir.resolve("access.log")).contains("http://localhost:" + w + "/x"));
  }

  @Test
  void anEmptyListAllowsLoopbackButNeverTheNodesOwnPorts() throws Exception {
    start(", deniedDestinations: []");
    String ok = curl("http://127.0.0.1:" + witness.getLocalPort() + "/");
    assertTrue(ok.startsWith("HTTP/1.1 200 ") && ok.endsWith("witness"), ok);
    assertEquals(1, accepted.get());
    for (int own : List.of(admin, icap, proxy)) {
      for (String host : List.of("127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.9.9.9")) {
        String answer = get(host + ":" + own);
        assertTrue(answer.startsWith("HTTP/1.1 403 ") && answer.contains("of this node"), host + ":" + own + " -> "
            + answer);
      }
    }
    String tunnel = raw("CONNECT 127.0.0.1:" + admin + " HTTP/1.1\r\nHost: 127.0.0.1:" + admin + "\r\n\r\n");
    assertTrue(tunnel.startsWith("HTTP/1.1 403 ") && tunnel.contains("the admin API of this node"), tunnel);
  }

  @Test
  void everyListeningServiceOfTheNodeIsItsOwnPortOnEveryOwnAddress() throws Exception {
    io.portcullis.daemon.config.Config c = io.portcullis.daemon.config.ConfigLoader.parse("""
        admin: { listen: 127.0.0.1:19090 }
        icap: { listen: 0.0.0.0:11344 }
        proxy: { listen: 0.0.0.0:13128, deniedDestinations: [] }
        console: { ssh: { enabled: true, listen: 0.0.0.0:12222 } }
        cluster: { role: control, listen: 0.0.0.0:19045, secret: cluster-join-secret-0123, nodes: [{ name: n1, address: 10.0.0.9 }] }
        balancer:
          enabled: true
          frontends:
            - { name: web, listen: 0.0.0.0:18080, mode: http, servers: [{ name: a, address: "10.0.0.9:3128" }] }
        """);
    Destinations d = Destinations.of(c);
    java.util.List<InetAddress> own = new java.util.ArrayList<>(List.of(InetAddress.getByName("127.0.0.1"),
        InetAddress.getByName("127.7.7.7"), InetAddress.getByName("::1"), InetAddress.getByName("0.0.0.0"),
        InetAddress.getByName("::ffff:127.0.0.1")));
    // An address of one of the host's own interfaces other than loopback, if it has one: a LAN address is the node's.
    java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces()).stream()
        .flatMap(ni -> java.util.Collections.list(ni.getInetAddresses()).stream())
        .filter(a -> !a.isLoopbackAddress() && !a.isLinkLocalAddress()).findFirst().ifPresent(own::add);
    java.util.Map<Integer, String> services = java.util.Map.of(19090, "the admin API", 11344, "the ICAP server",
        13128, "the proxy itself", 12222, "the SSH console", 19045, "the cluster's control port",
        18080, "the balancer's frontend web");
    for (InetAddress a : own) {
      for (var e : services.entrySet()) {
        String why = d.refusal(a, e.getKey());
        assertTrue(why != null && why.contains(e.getValue() + " of this node"), a + ":" + e.getKey() + " -> " + why);
      }
      assertEquals(null, d.refusal(a, 18081), "[] allows any other port: " + a);
    }
    assertEquals(null, d.refusal(InetAddress.getByName("192.0.2.7"), 19090), "another host's port 19090");
  }
}
