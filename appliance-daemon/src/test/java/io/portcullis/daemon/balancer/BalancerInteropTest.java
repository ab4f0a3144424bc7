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
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Our balancer in front of real nginx servers: methods, checks, failover, tcp mode, commits under wrk load. */
class BalancerInteropTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static Process nginxD; // a server of its own, to stop and start
  static int origin;
  static int pa;
  static int pb;
  static int pc;
  static int pd;
  static int admin;
  static int web;
  static int tcp;
  static Path www;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    www = dir.resolve("www");
    Files.createDirectories(www);
    byte[] data = new byte[5 << 20];
    new Random(3).nextBytes(data);
    Files.write(www.resolve("5m.bin"), data);
    Files.write(www.resolve("1k.bin"), java.util.Arrays.copyOf(data, 1024));
    origin = freePort();
    pa = freePort();
    pb = freePort();
    pc = freePort();
    pd = freePort();
    StringBuilder servers = new StringBuilder();
    for (Object[] s : new Object[][] {{"a", pa}, {"b", pb}, {"c", pc}}) {
      servers.append("  server { listen 127.0.0.1:%d; default_type text/plain; location / { return 200 \"%s\\n\"; } }\n"
          .formatted(s[1], s[0]));
    }
    Process nginx = cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin, servers.toString()));
    for (int p : List.of(pa, pb, pc)) {
      Peers.waitForPort(p, nginx, dir.resolve("nginx/error.log"));
    }
    nginxD = startD();
    cleanup.atEnd(() -> Peers.stop(nginxD));
    admin = freePort();
    web = freePort();
    tcp = freePort();
    String text = config("""
        - { name: web, listen: 127.0.0.1:%d, servers: [%s] }
        """.formatted(web, servers("a", "b", "c")));
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("data"));
  }

  static Process startD() throws Exception {
    Path root = dir.resolve("www-d");
    Files.createDirectories(root);
    Files.writeString(root.resolve("index.html"), "d\n");
    return Peers.nginx(dir.resolve("nginx-d"), root, pd);
  }

  static String config(String frontends) {
    return TestNodes.balancerConfig("{ name: lb, shutdownGrace: 2s }", admin, frontends);
  }

  /** Server entries for names a..d, as YAML flow items. */
  static String servers(String... names) {
    StringBuilder b = new StringBuilder();
    for (String n : names) {
      int port = switch (n) {
        case "a" -> pa;
        case "b" -> pb;
        case "c" -> pc;
        default -> pd;
      };
      b.append(b.length() == 0 ? "" : ", ").append("{ name: ").append(n).append(", address: 127.0.0.1:").append(port)
          .append(" }");
    }
    return b.toString();
  }

  static void commit(String frontends) throws Exception {
    TestNodes.commit(daemon, config(frontends), "balancer");
  }

  /** One GET over a fresh connection from {@code from} (a loopback address); the answer's status line and body. */
  static String get(int port, String from, String path) throws Exception {
    try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(from), 0)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(("GET " + path + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      in.transferTo(got);
      String text = got.toString(StandardCharsets.ISO_8859_1);
      int end = text.indexOf("\r\n\r\n");
      return text.substring(0, text.indexOf("\r\n")) + "|" + (end < 0 ? "" : text.substring(end + 4).strip());
    }
  }

  /** Which server answered each of {@code n} requests through the web frontend. */
  static Map<String, Integer> spread(int n, String from) throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      String r = get(web, from, "/");
      assertTrue(r.startsWith("HTTP/1.1 200"), r);
      counts.merge(r.substring(r.indexOf('|') + 1), 1, Integer::sum);
    }
    return counts;
  }

  static JsonObject status() throws Exception {
    TestNodes.Answer r = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/balancer", token, null);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  static JsonObject server(String frontend, String name) throws Exception {
    for (Object f : status().getJsonArray("frontends")) {
      JsonObject fo = (JsonObject) f;
      if (fo.getString("name").equals(frontend)) {
        for (Object s : fo.getJsonArray("servers")) {
          if (((JsonObject) s).getString("name").equals(name)) {
            return (JsonObject) s;
          }
        }
      }
    }
    throw new AssertionError("no server " + frontend + "/" + name + " in " + status());
  }

  /** Waits until the server's state (in the admin API) passes {@code test}; returns the ms it took, for the log. */
  static long awaitState(String frontend, String name, Predicate<String> test) throws Exception {
    return awaitState(frontend, name, test, System.nanoTime());
  }

  /** As above, the milliseconds counted from {@code t0} ({@link System#nanoTime}): reported, never asserted. */
  static long awaitState(String frontend, String name, Predicate<String> test, long t0) throws Exception {
    Host.waitUntil(frontend + "/" + name + " to reach the state awaited", Duration.ofSeconds(30),
        () -> test.test(server(frontend, name).getString("state")));
    return (System.nanoTime() - t0) / 1_000_000;
  }

  /** The requests the balancer has sent to the servers of {@code frontend}, all told. */
  static long total(String frontend) throws Exception {
    for (Object f : status().getJsonArray("frontends")) {
      JsonObject fo = (JsonObject) f;
      if (fo.getString("name").equals(frontend)) {
        return fo.getJsonArray("servers").stream().mapToLong(s -> ((JsonObject) s).getLong("total")).sum();
      }
    }
    throw new AssertionError("no frontend " + frontend);
  }

  /** Waits until the servers of {@code frontend} have taken {@code n} more requests than {@code since}; the total. */
  static long awaitRequests(String frontend, long since, int n, String when) throws Exception {
    Host.waitUntil(n + " more requests through " + frontend + " " + when, () -> total(frontend) >= since + n);
    return total(frontend);
  }

  @Test
  void eachMethodSpreadsRequestsOverThreeNginxServersAsItPromises() throws Exception {
    String weighted = "[{ name: a, address: 127.0.0.1:%d }, { name: b, address: 127.0.0.1:%d }, { name: c, address: 127.0.0.1:%d, weight: 2 }]"
        .formatted(pa, pb, pc);
    commit("- { name: web, listen: 127.0.0.1:%d, method: roundrobin, servers: %s }".formatted(web, weighted));
    assertEquals(Map.of("a", 100, "b", 100, "c", 200), spread(400, "127.0.0.1"));

    commit("- { name: web, listen: 127.0.0.1:%d, method: leastconn, servers: [%s] }".formatted(web,
        servers("a", "b", "c")));
    Map<String, Integer> lc = spread(300, "127.0.0.1");
    assertEquals(3, lc.size(), "leastconn shares idle servers: " + lc);
    lc.values().forEach(v -> assertTrue(v >= 80 && v <= 120, "leastconn, one request at a time: " + lc));

    commit("- { name: web, listen: 127.0.0.1:%d, method: random, servers: [%s] }".formatted(web,
        servers("a", "b", "c")));
    Map<String, Integer> rnd = spread(300, "127.0.0.1");
    assertEquals(3, rnd.size(), "random: " + rnd);
    rnd.values().forEach(v -> assertTrue(v >= 45, "random, each about a third: " + rnd));

    commit("- { name: web, listen: 127.0.0.1:%d, method: first, servers: [%s] }".formatted(web,
        servers("a", "b", "c")));
    assertEquals(Map.of("a", 50), spread(50, "127.0.0.1"));

    commit("- { name: web, listen: 127.0.0.1:%d, method: source, servers: [%s] }".formatted(web,
        servers("a", "b", "c")));
    Map<String, String> home = new HashMap<>();
    for (int i = 10; i < 40; i++) {
      Map<String, Integer> one = spread(5, "127.0.0." + i);
      assertEquals(1, one.size(), "source: client 127.0.0." + i + " sticks to one server: " + one);
      home.put("127.0.0." + i, one.keySet().iterator().next());
    }
    assertTrue(new HashSet<>(home.values()).size() >= 2, "source hashing spreads clients: " + home);
    // b drained: only b's clients move; the others stay where they were
    commit("- { name: web, listen: 127.0.0.1:%d, method: source, servers: [%s, %s, %s] }".formatted(web,
        servers("a"), "{ name: b, address: 127.0.0.1:" + pb + ", state: drain }", servers("c")));
    for (Map.Entry<String, String> e : home.entrySet()) {
      String now = spread(1, e.getKey()).keySet().iterator().next();
      if (e.getValue().equals("b")) {
        assertTrue(!now.equals("b"), "drained b gets no new connection");
      } else {
        assertEquals(e.getValue(), now, "client " + e.getKey() + " stays on its server");
      }
    }
  }

  @Test
  void aServerThatStopsIsTakenOutByItsChecksAndComesBackAfterRise() throws Exception {
    commit("""
        - name: web
          listen: 127.0.0.1:%d
          check: { type: http, path: /, interval: 200ms, timeout: 500ms, rise: 2, fall: 2 }
          servers: [%s]
        """.formatted(web, servers("a", "d")));
    awaitState("web", "d", "up"::equals);
    assertEquals(Set.of("a", "d"), spread(20, "127.0.0.1").keySet());
    long stopped = System.nanoTime();
    Peers.stop(nginxD);
    // Until the checks see it, requests that pick d are refused there and go to a: the users see no error.
    Map<String, Integer> during = spread(20, "127.0.0.1");
    long ms = awaitState("web", "d", "down"::equals, stopped);
    System.out.printf("balancer: d detected down %d ms after it stopped (fall 2 x interval 200 ms + timeout 500 ms"
        + " = 900 ms)%n", ms);
    assertEquals(Map.of("a", 20), spread(20, "127.0.0.1"), "all to a; during detection: " + during);
    JsonObject d = server("web", "d");
    assertTrue(d.getLong("errors") > 0 || during.equals(Map.of("a", 20)), d.toString());
    assertTrue(d.getJsonObject("check").getString("last").startsWith("failed"), d.toString());
    nginxD = startD();
    cleanup.atEnd(() -> Peers.stop(nginxD));
    awaitState("web", "d", "up"::equals);
    assertTrue(spread(20, "127.0.0.1").size() == 2, "d takes requests again");
  }

  @Test
  void noServerUpGivesA503PageInHttpModeAndACloseInTcpMode() throws Exception {
    int dead = freePort();
    commit("""
        - { name: web, listen: 127.0.0.1:%d, check: { type: none }, retries: 2, servers: [{ name: x, address: 127.0.0.1:%d }] }
        - { name: raw, listen: 127.0.0.1:%d, mode: tcp, check: { type: none }, servers: [{ name: x, address: 127.0.0.1:%d }] }
        """.formatted(web, dead, tcp, dead));
    String r = get(web, "127.0.0.1", "/");
    assertTrue(r.startsWith("HTTP/1.1 502"), r);
    commit("""
        - { name: web, listen: 127.0.0.1:%d, servers: [{ name: x, address: 127.0.0.1:%d, state: disabled }] }
        - { name: raw, listen: 127.0.0.1:%d, mode: tcp, servers: [{ name: x, address: 127.0.0.1:%d, state: disabled }] }
        """.formatted(web, pa, tcp, pa));
    r = get(web, "127.0.0.1", "/");
    assertTrue(r.startsWith("HTTP/1.1 503") && r.contains("No server is available"), r);
    assertEquals("", getRaw(tcp), "tcp: closed without a byte");
  }

  @Test
  void clientsOutsideAllowedClientsGetA403PageInHttpModeAndACloseInTcpMode() throws Exception {
    commit("""
        - { name: web, listen: 127.0.0.1:%d, check: { type: none }, allowedClients: [127.0.0.1/32],
            servers: [{ name: a, address: 127.0.0.1:%d }] }
        - { name: raw, listen: 127.0.0.1:%d, mode: tcp, check: { type: none }, allowedClients: [127.0.0.1],
            servers: [{ name: a, address: 127.0.0.1:%d }] }
        """.formatted(web, pa, tcp, pa));
    assertTrue(get(web, "127.0.0.1", "/").startsWith("HTTP/1.1 200"));
    String r = get(web, "127.0.0.2", "/");
    assertTrue(r.startsWith("HTTP/1.1 403") && r.contains("does not serve your network"), r);
    assertTrue(getRaw(tcp, "127.0.0.1").startsWith("HTTP/1.1 200"));
    assertEquals("", getRaw(tcp, "127.0.0.2"), "tcp: closed without a byte");
    assertEquals(0, server("web", "a").getLong("errors"));
    String m = metrics();
    for (String f : List.of("web", "raw")) {
      assertTrue(m.matches("(?s).*portcullis_balancer_refused_total\\{frontend=\"" + f
          + "\",reason=\"allowedClients\",?} 1\\.0.*"), m);
    }
    commit("""
        - { name: web, listen: 127.0.0.1:%d, check: { type: none }, servers: [{ name: a, address: 127.0.0.1:%d }] }
        """.formatted(web, pa));
    assertTrue(get(web, "127.0.0.2", "/").startsWith("HTTP/1.1 200"), "the default serves loopback (and RFC 1918)");
  }

  static String getRaw(int port) throws Exception {
    return getRaw(port, "127.0.0.1");
  }

  /** A GET over a tcp frontend from {@code from} (a loopback address): the whole answer, "" when closed at once. */
  static String getRaw(int port, String from) throws Exception {
    try (Socket s = new Socket(InetAddress.getByName("127.0.0.1"), port, InetAddress.getByName(from), 0)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes());
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    } catch (java.net.SocketException e) {
      return ""; // reset: closed as well
    }
  }

  @Test
  void tcpModeRelaysByteExactAndRedispatchesWhatADeadServerRefuses() throws Exception {
    int dead = freePort();
    commit("""
        - name: raw
          listen: 127.0.0.1:%d
          mode: tcp
          check: { type: none }
          servers: [{ name: dead, address: 127.0.0.1:%d }, { name: live, address: 127.0.0.1:%d }]
        """.formatted(tcp, dead, origin));
    Path got = dir.resolve("tcp-5m.bin");
    for (int i = 0; i < 4; i++) {
      Run r = Curl.in(dir).run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + tcp + "/5m.bin");
      assertEquals("200", r.output().strip(), r.output());
      assertEquals(Host.sha256(www.resolve("5m.bin")), Host.sha256(got));
    }
    assertTrue(server("raw", "dead").getLong("errors") >= 1, "round robin sent some to dead, refused: "
        + server("raw", "dead"));
    assertEquals(4, server("raw", "live").getLong("total"));
  }

  @Test
  void httpModeRelaysBodiesByteExactWhetherTheyComeInOneReadOrMany() throws Exception {
    commit("""
        - { name: web, listen: 127.0.0.1:%d, check: { type: none }, servers: [{ name: o, address: 127.0.0.1:%d }] }
        """.formatted(web, origin));
    Path got = dir.resolve("http-5m.bin");
    for (int i = 0; i < 2; i++) { // 5 MiB: many reads, streamed; then a small one, whole in the first read
      Run r = Curl.in(dir).run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + web + "/5m.bin", "-o",
          dir.resolve("http-1k.bin").toString(),
          "http://127.0.0.1:" + web + "/1k.bin");
      assertEquals("200200", r.output().strip(), r.output());
      assertEquals(Host.sha256(www.resolve("5m.bin")), Host.sha256(got));
      assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(dir.resolve("http-1k.bin")));
    }
  }

  @Test
  void aCommitThatChangesServersUnderLoadFailsNoRequest() throws Exception {
    Peers.require("wrk", "wrk");
    commit("- { name: web, listen: 127.0.0.1:%d, check: { interval: 200ms }, servers: [%s] }".formatted(web,
        servers("a", "b", "c")));
    // Each commit while the load flows: before each, the load has gone on through the frontend (a witness, where
    // sleeps only hoped so); wrk runs until stopped, so no commit can fall after its end.
    Wrk w;
    try (WrkRun load = WrkRun.start(dir, "-t1", "-c16", "http://127.0.0.1:" + web + "/")) {
      long seen = awaitRequests("web", 0, 100, "before the first commit");
      commit("- { name: web, listen: 127.0.0.1:%d, check: { interval: 200ms }, servers: [%s] }".formatted(web,
          servers("a", "b")));
      seen = awaitRequests("web", seen, 100, "after commit 1");
      commit("- { name: web, listen: 127.0.0.1:%d, method: leastconn, check: { interval: 200ms }, servers: [%s, %s] }"
          .formatted(web, servers("a", "b"), "{ name: c, address: 127.0.0.1:" + pc + ", weight: 3 }"));
      seen = awaitRequests("web", seen, 100, "after commit 2");
      commit("- { name: web, listen: 127.0.0.1:%d, check: { interval: 200ms }, servers: [%s, %s] }".formatted(web,
          "{ name: a, address: 127.0.0.1:" + pa + ", state: drain }", servers("b", "c")));
      seen = awaitRequests("web", seen, 100, "after commit 3");
      commit("- { name: web, listen: 127.0.0.1:%d, method: source, servers: [%s] }".formatted(web, servers("c")));
      awaitRequests("web", seen, 100, "after commit 4");
      w = load.stop();
    }
    System.out.println("balancer commit under load: " + w);
    assertTrue(w.requests() > 500, w.toString());
    assertEquals(0, w.failed(), w.toString());
  }

  @Test
  void aTcpConnectionOutlivesACommitThatRemovesItsServerAndClosesWhenIdle() throws Exception {
    commit("""
        - { name: raw, listen: 127.0.0.1:%d, mode: tcp, idleTimeout: 2100ms, servers: [{ name: a, address: 127.0.0.1:%d }] }
        """.formatted(tcp, pa));
    try (Socket s = new Socket("127.0.0.1", tcp)) {
      s.setSoTimeout(20_000);
      var in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = s.getOutputStream();
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertEquals("a", body(in));
      // a is replaced by b: new connections go to b; this one stays on a, byte for byte
      commit("""
          - { name: raw, listen: 127.0.0.1:%d, mode: tcp, idleTimeout: 2100ms, servers: [{ name: b, address: 127.0.0.1:%d }] }
          """.formatted(tcp, pb));
      out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertEquals("a", body(in));
      assertEquals("HTTP/1.1 200 OK|b", get(tcp, "127.0.0.1", "/"));
      // Not before the idle timeout: requests after pauses of a third of it (the slowness is the input) are answered.
      for (int i = 0; i < 4; i++) {
        Thread.sleep(700);
        out.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertEquals("a", body(in), "answered after " + (i + 1) + " pauses of 700 ms, idleTimeout 2100ms");
      }
      assertEquals(-1, s.getInputStream().read(), "the balancer closes a connection silent for its idleTimeout");
    }
  }

  /** Reads one nginx answer (Content-Length framed) and returns its body. */
  static String body(java.io.BufferedReader in) throws Exception {
    int length = -1;
    for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
      if (line.toLowerCase().startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).strip());
      }
    }
    if (length < 0) {
      throw new java.io.EOFException("closed before a whole answer");
    }
    char[] b = new char[length];
    int n = 0;
    while (n < length) {
      n += in.read(b, n, length - n);
    }
    return new String(b).strip();
  }

  static String metrics() throws Exception {
    return TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics", token, null).body();
  }

  @Test
  void metricsShowEachServersStateAndCounts() throws Exception {
    commit("- { name: web, listen: 127.0.0.1:%d, servers: [%s] }".formatted(web, servers("a", "b")));
    spread(4, "127.0.0.1");
    String m = metrics();
    assertTrue(m.matches("(?s).*portcullis_balancer_server_up\\{address=\"127.0.0.1:" + pa
        + "\",frontend=\"web\",server=\"a\",?} 1\\.0.*"), m);
    assertTrue(m.matches("(?s).*portcullis_balancer_server_requests_total\\{address=\"127.0.0.1:" + pb
        + "\",frontend=\"web\",server=\"b\",?} [1-9].*"), m);
    // Checks run every interval (tcp by default) and are counted by result: wait for a's first.
    java.util.regex.Pattern passed = java.util.regex.Pattern.compile("portcullis_balancer_server_checks_total\\{"
        + "address=\"127.0.0.1:" + pa + "\",frontend=\"web\",result=\"passed\",server=\"a\",?} [1-9]");
    Host.waitUntil("a's first passed check in /metrics", () -> passed.matcher(metrics()).find());
    m = metrics();
    assertTrue(m.matches("(?s).*portcullis_balancer_server_checks_total\\{address=\"127.0.0.1:" + pa
        + "\",frontend=\"web\",result=\"passed\",server=\"a\",?} [1-9].*"), m);
    assertTrue(m.matches("(?s).*portcullis_balancer_server_checks_total\\{address=\"127.0.0.1:" + pa
        + "\",frontend=\"web\",result=\"failed\",server=\"a\",?} 0\\.0.*"), m);
  }

  /**
   * wrk running until {@link #stop}ped (SIGINT: it prints its figures and exits), so that the load lasts as long as
   * the events a test awaits under it, not a guessed duration.
   */
  static final class WrkRun implements AutoCloseable {
    private final Process process;
    private final Path out;

    private WrkRun(Process process, Path out) {
      this.process = process;
      this.out = out;
    }

    /** Starts {@code wrk -d1h args} in {@code dir}. */
    static WrkRun start(Path dir, String... args) throws Exception {
      Peers.require("wrk", "wrk");
      Path out = Files.createTempFile(dir, "wrk", ".out");
      List<String> cmd = new java.util.ArrayList<>(List.of("wrk", "-d3600s"));
      cmd.addAll(List.of(args));
      return new WrkRun(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start(), out);
    }

    /** Stops wrk; what it counted. */
    Wrk stop() throws Exception {
      Host.run("kill", "-INT", Long.toString(process.pid()));
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "wrk stops on SIGINT");
      String printed = Files.readString(out);
      assertTrue(printed.contains("requests in"), printed);
      return Wrk.parse(printed);
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  /** What wrk printed: requests, non-2xx/3xx answers and socket errors. */
  record Wrk(long requests, long non2xx, long socketErrors, double rps) {
    long failed() {
      return non2xx + socketErrors;
    }

    static Wrk parse(String out) {
      long requests = find(out, "(\\d+) requests in");
      long non = find(out, "Non-2xx or 3xx responses: (\\d+)");
      long errors = 0;
      var m = java.util.regex.Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)")
          .matcher(out);
      if (m.find()) {
        for (int i = 1; i <= 4; i++) {
          errors += Long.parseLong(m.group(i));
        }
      }
      var r = java.util.regex.Pattern.compile("Requests/sec:\\s+([\\d.]+)").matcher(out);
      return new Wrk(requests, non, errors, r.find() ? Double.parseDouble(r.group(1)) : 0);
    }

    private static long find(String out, String regex) {
      var m = java.util.regex.Pattern.compile(regex).matcher(out);
      return m.find() ? Long.parseLong(m.group(1)) : 0;
    }
  }
}
