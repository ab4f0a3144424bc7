package io.portcullis.daemon.balancer;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The haproxy.cfg our admin API exports, run by the real HAProxy 2.6 in front of two Portcullis nodes: both forms
 * pass {@code haproxy -c}; proxy and ICAP traffic flow through it; a stopped node fails over.
 */
class HaproxyExportTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static final Process[] nodes = new Process[2];
  static final int[] proxyPort = new int[2];
  static final int[] icapPort = new int[2];
  static int origin;
  static int admin;
  static int web;
  static int icap;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    Peers.require("haproxy", "haproxy");
    origin = Peers.nginx(cleanup, dir, Map.of("1k.bin", "\0".repeat(1024)));
    for (int i = 0; i < 2; i++) {
      proxyPort[i] = freePort();
      icapPort[i] = freePort();
      String yaml = """
          node: { name: n%d, eventLoops: 1, shutdownGrace: 1s }
          admin: { listen: 127.0.0.1:%d }
          proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
          icap: { listen: 127.0.0.1:%d }
          """.formatted(i, freePort(), proxyPort[i], icapPort[i]);
      nodes[i] = cleanup.add(Peers.portcullis(dir.resolve("n" + i), yaml, proxyPort[i]), Peers::kill);
      Peers.waitForPort(icapPort[i], nodes[i], dir.resolve("n" + i + "/daemon.log"));
    }
    admin = freePort();
    web = freePort();
    icap = freePort();
    // The layout, written once in our config; this node's own balancer stays off: HAProxy runs it.
    String text = """
        node: { name: exporter }
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { enabled: false }
        balancer:
          enabled: false
          frontends:
            - name: web
              listen: 127.0.0.1:%d
              method: leastconn
              allowedClients: [127.0.0.1/32]
              check: { type: http, path: /, interval: 500ms, timeout: 500ms, rise: 2, fall: 2 }
              servers: [{ name: n0, address: 127.0.0.1:%d, weight: 2 }, { name: n1, address: 127.0.0.1:%d }]
            - name: icap
              listen: 127.0.0.1:%d
              mode: tcp
              method: source
              check: { type: icap, interval: 500ms, timeout: 500ms, rise: 2, fall: 2 }
              servers: [{ name: n0, address: 127.0.0.1:%d }, { name: n1, address: 127.0.0.1:%d }]
        """.formatted(admin, web, proxyPort[0], proxyPort[1], icap, icapPort[0], icapPort[1]);
    cleanup.add(TestNodes.start(dir.resolve("exporter"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("exporter"));
  }

  static String export(String query) throws Exception {
    TestNodes.Answer r = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/balancer/haproxy.cfg" + query,
        token, null);
    assertEquals(200, r.status(), r.body());
    return r.body();
  }

  static Path checked(String name, String cfg) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, cfg);
    Run r = Host.runIn(dir, "haproxy", "-c", "-f", file.toString());
    assertEquals(0, r.exit(), "haproxy -c on " + name + ":\n" + r.output() + "\n" + cfg);
    return file;
  }

  static String viaHaproxy() throws Exception {
    return viaHaproxy("127.0.0.1");
  }

  /** The status of a GET through HAProxy's web frontend from the loopback address {@code from}. */
  static String viaHaproxy(String from) throws Exception {
    return Curl.in(dir).maxTime(20).proxy(web).with("--interface", from).status("http://127.0.0.1:" + origin
        + "/1k.bin");
  }

  @Test
  void theExportedConfigRunsInRealHaproxyAndFailsOverWhenANodeStops() throws Exception {
    String all = export("");
    assertTrue(all.contains("balance leastconn") && all.contains("balance source") && all.contains("weight 2")
        && all.contains("tcp-check expect string ICAP/1.0\\ 200"), all);
    Path one = checked("haproxy-one.cfg", all);
    // The two-balancer form: one HAProxy for HTTP, another for ICAP.
    String webOnly = checked("haproxy-web.cfg", export("?frontend=web")).toString();
    assertTrue(!Files.readString(Path.of(webOnly)).contains("mode tcp"));
    assertTrue(Files.readString(checked("haproxy-icap.cfg", export("?frontend=icap"))).contains("mode tcp"));

    // Our config plus a stats socket (a second global section), to see HAProxy's checks as HAProxy reports them.
    Path sock = dir.resolve("haproxy.sock");
    Files.writeString(one, Files.readString(one) + "\nglobal\n    stats socket " + sock + "\n");
    Process haproxy = cleanup.add(new ProcessBuilder("haproxy", "-db", "-f", one.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("haproxy.log").toFile()).start());
    Peers.waitForPort(web, haproxy, dir.resolve("haproxy.log"));
    Peers.waitForPort(icap, haproxy, dir.resolve("haproxy.log"));
    // HAProxy's own checks of our nodes have run and passed, each server: its answer, not a wait that hopes so.
    Host.waitUntil("HAProxy's first check of each server to pass", () -> servers(sock).values().stream()
        .allMatch(x -> x.get("check_status").matches("L[4-7]OK")));
    servers(sock).forEach((name, x) -> assertEquals("0", x.get("chkfail"), name + ": " + x));
    for (int i = 0; i < 10; i++) {
      assertEquals("200", viaHaproxy(), Peers.read(dir.resolve("haproxy.log")));
    }
    assertEquals("403", viaHaproxy("127.0.0.2"), "allowedClients, as HAProxy's src ACL");
    Run options = Host.runIn(dir, "c-icap-client", "-i", "127.0.0.1", "-p", Integer.toString(icap), "-s",
        "av/reqmod", "-v");
    assertTrue(options.output().contains("200 OK"), "OPTIONS through HAProxy: " + options.output());
    String log = Peers.read(dir.resolve("haproxy.log"));
    assertTrue(!log.contains(" is DOWN"), "HAProxy's checks pass on our nodes: " + log);

    Peers.kill(nodes[0]);
    Host.waitUntil("HAProxy to take n0 down in both backends", () -> servers(sock).entrySet().stream()
        .filter(e -> e.getKey().endsWith("/n0")).allMatch(e -> e.getValue().get("status").equals("DOWN")));
    for (int i = 0; i < 10; i++) {
      assertEquals("200", viaHaproxy(), "failover to n1: " + Peers.read(dir.resolve("haproxy.log")));
    }
    Run after = Host.runIn(dir, "c-icap-client", "-i", "127.0.0.1", "-p", Integer.toString(icap), "-s",
        "av/reqmod", "-v");
    assertTrue(after.output().contains("200 OK"), "ICAP fails over too: " + after.output());
    assertTrue(Peers.read(dir.resolve("haproxy.log")).contains("n0 is DOWN"), Peers.read(dir.resolve("haproxy.log")));
  }

  /** HAProxy's {@code show stat} on {@code sock}: each server ("backend/server") and its fields by name. */
  static Map<String, Map<String, String>> servers(Path sock) throws Exception {
    String csv;
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
      ch.write(ByteBuffer.wrap("show stat\n".getBytes(StandardCharsets.US_ASCII)));
      csv = new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.US_ASCII);
    }
    List<String> lines = csv.lines().filter(l -> !l.isBlank()).toList();
    String[] names = lines.get(0).replaceFirst("^# ", "").split(",", -1);
    Map<String, Map<String, String>> out = new TreeMap<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      Map<String, String> row = new HashMap<>();
      for (int i = 0; i < names.length && i < f.length; i++) {
        row.put(names[i], f[i]);
      }
      if (!row.get("svname").equals("FRONTEND") && !row.get("svname").equals("BACKEND")) {
        out.put(row.get("pxname") + "/" + row.get("svname"), row);
      }
    }
    assertEquals(4, out.size(), csv);
    return out;
  }

  @Test
  void anUnknownFrontendIsA404NotAnEmptyConfig() throws Exception {
    TestNodes.Answer r = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/balancer/haproxy.cfg?frontend=nope",
        token, null);
    assertEquals(404, r.status());
    assertTrue(r.body().contains("web, icap"), r.body());
    assertTrue(List.of(r.body()).get(0).contains("nope"));
  }
}
