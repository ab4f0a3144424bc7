package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node as the way in: the proxy as an SSRF pivot (loopback, metadata and the node's own ports, spelled every
 * way, plain and CONNECT), the ICAP server for outsiders, config files outside the config directory. Each case has
 * its exact expected answer; a witness server counts every connection that got through.
 */
@Tag("reliability")
class HostileSecurityTest {
  @TempDir
  static Path dir;
  static Process node;
  static int admin;
  static int proxy;
  static int icap;
  static ServerSocket witness;
  static final AtomicInteger reached = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    witness = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!witness.isClosed()) {
        try (Socket s = witness.accept()) {
          reached.incrementAndGet();
        } catch (IOException e) {
          // closed at the end
        }
      }
    }, "witness");
    t.setDaemon(true);
    t.start();
    admin = Host.freePort();
    proxy = Host.freePort();
    icap = Host.freePort();
    node = Peers.portcullis(dir, """
        node: { name: hostile-security, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { listen: 127.0.0.1:%d, connectPorts: [443, %d, %d, %d], connectTimeout: 2s }
        icap: { listen: 127.0.0.1:%d, allowedClients: [127.0.0.1/32] }
        """.formatted(admin, proxy, witness.getLocalPort(), admin, icap, icap), admin);
  }

  @AfterAll
  static void stop() throws IOException {
    Peers.stop(node);
    witness.close();
  }

  static String exchange(String from, int port, String bytes) throws IOException {
    try (Socket s = Wire.connect(from, port)) {
      s.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
      return Wire.readToClose(s);
    }
  }

  /** Host spellings and the status the proxy must answer for each, whatever the port. */
  static Map<String, Integer> spellings() {
    Map<String, Integer> m = new LinkedHashMap<>();
    for (String h : List.of("127.0.0.1", "127.0.0.2", "127.255.255.254", "localhost", "LocalHost", "[::1]",
        "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "0.0.0.0", "[::]",
        "169.254.169.254", "[fe80::1]", "224.0.0.1", "[ff02::1]", "255.255.255.255")) {
      m.put(h, 403); // denied after resolution: loopback, this network, link-local (metadata), multicast
    }
    for (String h : List.of("127.1", "127.0.1", "2130706433", "017700000001", "0177.0.0.1", "127.000.000.001",
        "127.0.0.1.", "0", "127.0.0.1%20", "127.0.0.1%00", "[::1%lo]", "[127.0.0.1]")) {
      m.put(h, 400); // not a host the proxy takes
    }
    for (String h : List.of("0x7f000001", "0x7f.0.0.1", "0x7F.1")) {
      m.put(h, 502); // a name to the resolver, which knows no such host
    }
    return m;
  }

  @Test
  void theProxyIsNoWayToLoopbackMetadataOrTheNodesOwnPorts() throws Exception {
    Map<String, Integer> cases = spellings();
    int tried = 0;
    int passed = 0;
    List<String> wrong = new ArrayList<>();
    for (int port : new int[] {witness.getLocalPort(), admin, icap}) {
      for (Map.Entry<String, Integer> c : cases.entrySet()) {
        String authority = c.getKey() + ":" + port;
        for (String req : List.of("GET http://" + authority + "/ HTTP/1.1\r\nHost: " + authority + "\r\n"
            + "Connection: close\r\n\r\n", "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")) {
          tried++;
          String answer = exchange("127.0.0.1", proxy, req);
          boolean ok = answer.startsWith("HTTP/1.1 " + c.getValue() + " ") && answer.contains("Via: ") == false
              && !answer.contains("\"node\"") && !answer.contains("ICAP/1.0");
          if (ok) {
            passed++;
          } else {
            wrong.add(req.lines().findFirst().orElse("") + " -> " + answer.lines().findFirst().orElse("(nothing)"));
          }
        }
      }
    }
    int through = reached.get();
    Report.row("security", "SSRF: loopback, metadata, own ports; " + cases.size() + " spellings x 3 ports x GET/CONNECT",
        tried, passed, node.isAlive() ? 0 : 1, -1, through, -1, -1, "smuggled = connections that reached the witness");
    assertEquals(List.of(), wrong);
    assertEquals(0, through, "connections that reached loopback through the proxy");
    assertTrue(node.isAlive());
  }

  @Test
  void theIcapServerServesItsClientsOnly() throws Exception {
    String options = "OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    String http = "GET http://casino.test/ HTTP/1.1\r\nHost: casino.test\r\n\r\n";
    String reqmod = "REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\nX-Client-Username: admin\r\n"
        + "Encapsulated: req-hdr=0, null-body=" + http.length() + "\r\n\r\n" + http;
    int tried = 0;
    int passed = 0;
    for (String from : List.of("127.0.0.2", "127.0.0.3", "127.1.2.3", "127.255.255.254")) {
      for (String bytes : List.of(options, reqmod)) {
        tried++;
        passed += exchange(from, icap, bytes).isEmpty() ? 1 : 0;
      }
    }
    tried++;
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), icap)) { // the listed client is served
      s.setSoTimeout(20_000);
      s.getOutputStream().write(options.getBytes(StandardCharsets.US_ASCII));
      byte[] head = s.getInputStream().readNBytes(15);
      passed += new String(head, StandardCharsets.US_ASCII).equals("ICAP/1.0 200 OK") ? 1 : 0;
    }
    Report.row("security", "ICAP from clients outside icap.allowedClients (closed at accept)", tried, passed,
        node.isAlive() ? 0 : 1, -1, -1, -1, -1, "");
    assertEquals(tried, passed);
  }

  @Test
  void configFilesOutsideTheConfigDirectoryAreRefused() throws Exception {
    Path outside = Files.writeString(dir.resolveSibling(dir.getFileName() + "-secret.txt"), "root:x:0:0\n");
    Files.createSymbolicLink(dir.resolve("link.html"), outside);
    Files.createDirectories(dir.resolve("sub"));
    Files.createSymbolicLink(dir.resolve("sub/up"), dir.getParent());
    List<String> names = List.of(outside.toString(), "/etc/shadow", "../" + outside.getFileName(),
        "sub/../../" + outside.getFileName(), "link.html", "sub/up/" + outside.getFileName(), "/proc/self/environ",
        "/usr/share/portcullis/templates/../../../etc/passwd", "/dev/zero");
    String token = Files.readString(dir.resolve("data/admin.token")).strip();
    int tried = 0;
    int passed = 0;
    for (String name : names) {
      for (String key : List.of("template", "file")) {
        String yaml = Files.readString(dir.resolve("portcullis.yaml")) + (key.equals("template")
            ? "rules:\n  access:\n    - { name: b, action: block, template: \"" + name + "\" }\n"
            : "rules:\n  categories:\n    - { name: c, file: \"" + name + "\" }\n");
        tried++;
        io.vertx.core.json.JsonObject body = new io.vertx.core.json.JsonObject().put("yaml", yaml);
        TestNodes.Answer put = TestNodes.call("PUT", "http://127.0.0.1:" + admin + "/api/v1/candidate", token,
            body.encode());
        TestNodes.Answer commit = TestNodes.call("POST", "http://127.0.0.1:" + admin + "/api/v1/commit", token, null);
        passed += put.body().contains(key.equals("template") ? "rules.access[0].template" : "rules.categories[0].file")
            && commit.status() == 422 ? 1 : 0;
      }
    }
    Report.row("security", "config files outside the config directory (absolute, .., links)", tried, passed,
        node.isAlive() ? 0 : 1, -1, -1, -1, -1, "refused at commit with 422 naming the key");
    assertEquals(tried, passed);
  }
}
