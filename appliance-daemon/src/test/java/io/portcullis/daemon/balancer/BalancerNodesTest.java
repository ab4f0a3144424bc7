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
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our balancer in front of Portcullis nodes that run in their own JVMs and are killed outright (SIGKILL): Squid using
 * two ICAP servers through the tcp frontend, and wrk loading three proxies through the http frontend.
 */
@org.junit.jupiter.api.Tag("reliability")
class BalancerNodesTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static int origin;
  static int admin;
  static int icapFront;
  static int webFront;
  static final int[] nodeAdmin = new int[3];
  static final int[] nodeIcap = new int[3];
  static final int[] nodeProxy = new int[3];
  static final Process[] nodes = new Process[3];

  @BeforeAll
  static void start() throws Exception {
    origin = Peers.nginx(cleanup, dir, Map.of("1k.bin", "\0".repeat(1024)));
    for (int i = 0; i < 3; i++) {
      nodeAdmin[i] = freePort();
      nodeIcap[i] = freePort();
      nodeProxy[i] = freePort();
    }
    admin = freePort();
    icapFront = freePort();
    webFront = freePort();
    String text = TestNodes.balancerConfig("{ name: lb, shutdownGrace: 1s }", admin, """
        - name: icap
          listen: 127.0.0.1:%d
          mode: tcp
          check: { type: icap, interval: 300ms, timeout: 500ms, rise: 2, fall: 2 }
          servers: [{ name: n0, address: 127.0.0.1:%d }, { name: n1, address: 127.0.0.1:%d }]
        - name: web
          listen: 127.0.0.1:%d
          check: { type: tcp, interval: 300ms, timeout: 300ms, rise: 2, fall: 2 }
          servers: [{ name: n0, address: 127.0.0.1:%d }, { name: n1, address: 127.0.0.1:%d }, { name: n2, address: 127.0.0.1:%d }]
        """.formatted(icapFront, nodeIcap[0], nodeIcap[1], webFront, nodeProxy[0], nodeProxy[1], nodeProxy[2]));
    cleanup.add(TestNodes.start(dir.resolve("lb"), text), Daemon::stop);
  }

  /**
   * Node {@code i} in its own JVM: its proxy (without ICAP) when {@code proxy}, else its ICAP server alone; killed
   * (SIGKILL) after the test.
   */
  static Process node(int i, boolean proxy) throws Exception {
    String yaml = "node: { name: n%d, eventLoops: 1, shutdownGrace: 1s }\nadmin: { listen: 127.0.0.1:%d }\n"
        .formatted(i, nodeAdmin[i]) + (proxy
        ? "proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }\nicap: { enabled: false }\n".formatted(nodeProxy[i])
        : "proxy: { enabled: false }\nicap: { listen: 127.0.0.1:%d }\n".formatted(nodeIcap[i]));
    nodes[i] = cleanup.add(Peers.portcullis(dir.resolve("node" + i + (proxy ? "p" : "i")), yaml,
        proxy ? nodeProxy[i] : nodeIcap[i]), Peers::kill);
    return nodes[i];
  }

  static JsonObject server(String frontend, String name) throws Exception {
    String token = TestNodes.token(dir.resolve("lb"));
    for (Object f : TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/balancer", token, null).json()
        .getJsonArray("frontends")) {
      if (((JsonObject) f).getString("name").equals(frontend)) {
        for (Object s : ((JsonObject) f).getJsonArray("servers")) {
          if (((JsonObject) s).getString("name").equals(name)) {
            return (JsonObject) s;
          }
        }
      }
    }
    throw new AssertionError("no " + frontend + "/" + name);
  }

  /** Waits until the server is in {@code state}; the ms since {@code t0} ({@link System#nanoTime}), for the report. */
  static long awaitState(String frontend, String name, String state, long t0) throws Exception {
    Host.waitUntil(frontend + "/" + name + " " + state, Duration.ofSeconds(60),
        () -> server(frontend, name).getString("state").equals(state));
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** The requests (http) or connections (tcp) the balancer has sent to {@code name} of {@code frontend}. */
  static long total(String frontend, String name) throws Exception {
    return server(frontend, name).getLong("total");
  }

  /** The ICAP transactions node {@code i} counted (its /metrics). */
  static long transactions(int i) throws Exception {
    String token = TestNodes.token(dir.resolve("node" + i + "i/data"));
    String metrics = TestNodes.call("GET", "http://127.0.0.1:" + nodeAdmin[i] + "/metrics", token, null).body();
    long sum = 0;
    Matcher m = Pattern.compile("(?m)^portcullis_icap_transactions_total\\{[^}]*method=\"(REQMOD|RESPMOD)\"[^}]*} ([0-9.E]+)$")
        .matcher(metrics);
    while (m.find()) {
      sum += (long) Double.parseDouble(m.group(2));
    }
    return sum;
  }

  /** {@code n} GETs through Squid, 8 at a time; the status of each. */
  static List<String> throughSquid(int squidPort, int n) throws Exception {
    StringBuilder cfg = new StringBuilder();
    for (int i = 0; i < n; i++) {
      cfg.append("url = \"http://127.0.0.1:").append(origin).append("/1k.bin?").append(i).append("\"\n")
          .append("output = \"/dev/null\"\n");
    }
    Path k = dir.resolve("curl-" + System.nanoTime() + ".cfg");
    Files.writeString(k, cfg);
    Run r = Host.runIn(dir, "curl", "-sS", "-Z", "--parallel-max", "8", "--max-time", "30", "-x",
        "http://127.0.0.1:" + squidPort, "-w", "%{http_code}\\n", "-K", k.toString());
    return r.output().lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  @Test
  void squidThroughOurTcpFrontendUsesBothIcapServersAndOnlyTheLiveOneOnceTheOtherIsKilled() throws Exception {
    node(0, false);
    node(1, false);
    awaitState("icap", "n0", "up", System.nanoTime());
    awaitState("icap", "n1", "up", System.nanoTime());
    int squidPort = freePort();
    cleanup.add(Peers.squid(dir.resolve("squid"), squidPort, icapFront));
    List<String> codes = throughSquid(squidPort, 60);
    assertEquals(60, codes.stream().filter("200"::equals).count(), codes.toString());
    long t0 = transactions(0);
    long t1 = transactions(1);
    assertTrue(t0 > 0 && t1 > 0, "both ICAP servers got transactions: " + t0 + ", " + t1);

    long killed = System.nanoTime();
    Peers.kill(nodes[0]);
    long ms = awaitState("icap", "n0", "down", killed);
    System.out.printf("balancer (tcp, icap check): n0 detected down %d ms after SIGKILL (bound: 2 x 300 + 500 ="
        + " 1100 ms)%n", ms);
    io.portcullis.daemon.reliability.Report.row("faults", "a balancer ICAP backend killed (Squid through it)", 1,
        1, 0, 0, -1, -1, ms, "detected down after ms; then 60 requests through Squid checked below");
    String cacheLogBefore = Peers.read(dir.resolve("squid/cache.log"));
    codes = throughSquid(squidPort, 60);
    assertEquals(60, codes.stream().filter("200"::equals).count(), "Squid sees no ICAP error: " + codes);
    String newLog = Peers.read(dir.resolve("squid/cache.log")).substring(cacheLogBefore.length());
    assertTrue(!newLog.contains("ICAP") || !newLog.toLowerCase().contains("fail"), newLog);
    assertTrue(transactions(1) >= t1 + 60, "the live server took them all");
  }

  @Test
  void aProxyNodeKilledUnderWrkLoadCostsAtMostATenthOfAPercentAndComesBackAfterRise() throws Exception {
    Peers.require("wrk", "wrk");
    for (int i = 0; i < 3; i++) {
      node(i, true);
    }
    for (String n : List.of("n0", "n1", "n2")) {
      awaitState("web", n, "up", System.nanoTime());
    }
    Path lua = dir.resolve("proxy.lua");
    Files.writeString(lua, """
        wrk.path = "http://127.0.0.1:%d/1k.bin"
        wrk.headers["Host"] = "127.0.0.1:%d"
        """.formatted(origin, origin));
    BalancerInteropTest.Wrk w;
    long ms;
    // Events, not sleeps, mark the phases; wrk runs until stopped, so each phase is under load.
    try (BalancerInteropTest.WrkRun load = BalancerInteropTest.WrkRun.start(dir, "-t1", "-c8", "-s", lua.toString(),
        "http://127.0.0.1:" + webFront + "/")) {
      Host.waitUntil("load through every node", () -> total("web", "n0") >= 500 && total("web", "n1") >= 500
          && total("web", "n2") >= 500);
      long killed = System.nanoTime();
      Peers.kill(nodes[1]);
      ms = awaitState("web", "n1", "down", killed);
      // Once down, n1 is sent nothing more: its count stays while the load goes on through the others (counted
      // after a first 100, so that a request that picked n1 just before it went down is not taken for one after).
      long others = total("web", "n0") + total("web", "n2");
      Host.waitUntil("100 requests through n0 and n2 after n1 went down",
          () -> total("web", "n0") + total("web", "n2") >= others + 100);
      long n1 = total("web", "n1");
      // Seconds of load after the kill: a tenth of a percent of it is more than the requests in flight at the kill.
      Host.waitUntil("6500 more requests through n0 and n2", Duration.ofSeconds(60),
          () -> total("web", "n0") + total("web", "n2") >= others + 6600);
      assertEquals(n1, total("web", "n1"), "no request goes to n1 once it is down");
      w = load.stop();
    }
    System.out.printf("balancer (http, 3 proxies, one killed under wrk): %s; n1 detected down %d ms after SIGKILL"
        + " (bound: 2 x 300 + 300 = 900 ms)%n", w, ms);
    io.portcullis.daemon.reliability.Report.row("faults", "a balancer backend (proxy node) killed under wrk",
        w.requests(), w.requests() - w.failed(), 0, 0, -1, w.failed(), ms, "detected down after ms (reported, not "
        + "asserted); bound 900 ms");
    assertTrue(w.requests() > 1000, w.toString());
    assertTrue(w.failed() * 1000 <= w.requests(), "failed " + w.failed() + " of " + w.requests());

    long before = server("web", "n1").getLong("total");
    long restarted = System.nanoTime();
    node(1, true);
    long back = awaitState("web", "n1", "up", restarted);
    System.out.printf("balancer: n1 up again %d ms after its restart began (JVM start, then rise 2 x 300 ms)%n", back);
    Curl curl = Curl.in(dir).proxy(webFront);
    for (int i = 0; i < 30; i++) {
      assertEquals("200", curl.status("http://127.0.0.1:" + origin + "/1k.bin"));
    }
    assertTrue(server("web", "n1").getLong("total") > before, "n1 takes requests again");
  }
}
