package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Clamd;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults while a load runs through the proxy (4 clients, a new connection per request, so that nothing a client
 * library retries hides a reset): the ICAP server killed and restarted with onError block (503 pages, never a reset)
 * and with bypass (every page served), an origin that resets a quarter of its connections (502s, never a reset),
 * clamd stopped and started again behind a protection rule that fails closed, and commits and rollbacks. Each counts
 * the requests that failed against what the policy promises, and how long the fault took to show and to heal.
 */
@Tag("reliability")
class FaultsUnderLoadTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;

  /**
   * One request: when it began and ended in the order of the load's events (see {@link Load#mark}), when it ended in
   * ms since the load began (for the report only), and its status (-1: the connection failed).
   */
  record Hit(long began, long ended, long at, int status) {
  }

  /**
   * Requests through the proxy from 4 threads until stopped. Its events (each request's beginning and end, and the
   * marks the test sets when it kills or restarts something) are numbered in the order they happened, so that a
   * request begun after a kill and ended before the restart is known to have run while the victim was down: no clock.
   */
  static final class Load implements AutoCloseable {
    final List<Hit> hits = Collections.synchronizedList(new ArrayList<>());
    final long t0 = System.nanoTime();
    final java.util.concurrent.atomic.AtomicLong events = new java.util.concurrent.atomic.AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    final List<Thread> threads = new ArrayList<>();

    Load(int proxy, String url) {
      this(4, () -> get(proxy, url));
    }

    /** {@code n} threads each making {@code request} (its status, -1: the connection failed) until stopped. */
    Load(int n, java.util.function.IntSupplier request) {
      for (int i = 0; i < n; i++) {
        Thread t = new Thread(() -> {
          while (!stop.get()) {
            long began = mark();
            int status = request.getAsInt();
            hits.add(new Hit(began, mark(), now(), status));
          }
        });
        t.start();
        threads.add(t);
      }
    }

    /** The next number in the order of events. */
    long mark() {
      return events.incrementAndGet();
    }

    long now() {
      return (System.nanoTime() - t0) / 1_000_000;
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      for (Thread t : threads) {
        t.join(15_000);
      }
    }

    Map<Integer, Integer> statuses() {
      Map<Integer, Integer> m = new TreeMap<>();
      synchronized (hits) {
        hits.forEach(h -> m.merge(h.status(), 1, Integer::sum));
      }
      return m;
    }

    /** The requests begun after event {@code from} and ended before event {@code to}. */
    List<Hit> within(long from, long to) {
      synchronized (hits) {
        return hits.stream().filter(h -> h.began() > from && h.ended() < to).toList();
      }
    }

    /** Waits until {@code n} requests begun after event {@code from} have ended. */
    void awaitHits(long from, int n, String when) throws InterruptedException {
      Host.waitUntil(n + " requests " + when, Duration.ofSeconds(60), () -> within(from, Long.MAX_VALUE).size() >= n);
    }

    /**
     * With this load running: {@code victim} killed (SIGKILL) once 20 requests are through, then 20 requests while it
     * is down, then {@code restart} (back when it returns), then requests until one is served (200); then the load
     * stops. The events that mark each, and the victim's successor.
     */
    Fault killAndRestart(Process victim, Callable<Process> restart) throws Exception {
      try {
        awaitHits(0, 20, "before the fault");
        long killedAtMs = now();
        Peers.kill(victim); // returns once the process is gone, and its sockets with it
        long killed = mark();
        awaitHits(killed, 20, "while the victim is down");
        long restarting = mark();
        Process back = restart.call();
        long backAtMs = now();
        long ready = mark();
        Host.waitUntil("a request served (200) after the restart", Duration.ofSeconds(60),
            () -> within(ready, Long.MAX_VALUE).stream().anyMatch(h -> h.status() == 200));
        return new Fault(killed, restarting, ready, killedAtMs, backAtMs, back);
      } finally {
        close();
      }
    }

    /** The first hit at or after {@code from} ms with {@code status} (or not, if {@code not}); -1 if none. */
    long first(long from, int status, boolean not) {
      synchronized (hits) {
        return hits.stream().filter(h -> h.at() >= from && (h.status() == status) != not).mapToLong(Hit::at).min()
            .orElse(-1);
      }
    }
  }

  /** nginx serving /page.html ("a page"), its files in dir/{@code name}, stopped after the test; its port. */
  int pageOrigin(String name) throws Exception {
    return Peers.nginx(cleanup, dir.resolve(name), Map.of("page.html", "a page\n"));
  }

  /**
   * A fault {@link Load#killAndRestart} made: the events after the kill, before the restart began and after it had
   * returned; when (ms into the load, for the report) it struck and healed; and the new process.
   */
  record Fault(long killed, long restarting, long ready, long killedAt, long backAt, Process restarted) {
    /** The requests that ran wholly while the victim was down. */
    List<Hit> whileDown(Load load) {
      return load.within(killed, restarting);
    }
  }

  /** One GET through the proxy on a connection of its own; its status, or -1 if the connection failed. */
  static int get(int proxy, String url) {
    return get(proxy, url, "");
  }

  /** As above, with {@code headers} (each line ending in CRLF) added to the request. */
  static int get(int proxy, String url, String headers) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET " + url + " HTTP/1.1\r\nHost: x\r\n" + headers + "Connection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      String a = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return a.startsWith("HTTP/1.1 ") ? Integer.parseInt(a.substring(9, 12)) : -1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  static void commit(int admin, Path data, String yaml) throws Exception {
    String token = TestNodes.token(data);
    api(admin, token, "PUT", "/api/v1/candidate", new JsonObject().put("yaml", yaml).encode());
    api(admin, token, "POST", "/api/v1/commit", "{}");
  }

  /** An admin-API call that must succeed (200). */
  static void api(int admin, String token, String method, String path, String body) throws Exception {
    TestNodes.Answer r = TestNodes.call(method, "http://127.0.0.1:" + admin + path, token, body);
    assertEquals(200, r.status(), r.body());
  }

  @Test
  void anIcapServerKilledAndRestartedUnderLoadCostsPagesByPolicyNeverAReset() throws Exception {
    int origin = pageOrigin("icap-origin");
    int icap = Host.freePort();
    String icapYaml = """
        node: { name: icap-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { listen: 127.0.0.1:%d }
        """.formatted(Host.freePort(), icap);
    Process icapNode = cleanup.add(Peers.portcullis(dir.resolve("icap"), icapYaml, icap));
    int proxy = Host.freePort();
    int admin = Host.freePort();
    String proxyYaml = """
        node: { name: proxy-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy:
          listen: 127.0.0.1:%d
          deniedDestinations: []
          icap: { reqmod: ["icap://127.0.0.1:%d/av/reqmod"], respmod: ["icap://127.0.0.1:%d/av/respmod"], onError: %s, timeout: 3s }
        icap: { enabled: false }
        """;
    Process proxyNode = cleanup.add(Peers.portcullis(dir.resolve("proxy"), proxyYaml.formatted(admin, proxy, icap, icap,
        "block"), proxy));
    Peers.waitForPort(admin, proxyNode, dir.resolve("proxy/daemon.log"));
    String url = "http://127.0.0.1:" + origin + "/page.html";
    for (String onError : List.of("block", "bypass")) {
      if (onError.equals("bypass")) {
        commit(admin, dir.resolve("proxy/data"), proxyYaml.formatted(admin, proxy, icap, icap, "bypass"));
      }
      Load load = new Load(proxy, url);
      Fault fault = load.killAndRestart(icapNode, () -> cleanup.add(Peers.portcullis(dir.resolve("icap"), null, icap)));
      icapNode = fault.restarted();
      long killedAt = fault.killedAt();
      long readyAt = fault.backAt();
      Map<Integer, Integer> st = load.statuses();
      int resets = st.getOrDefault(-1, 0);
      int total = load.hits.size();
      long shown = load.first(killedAt, 200, true);
      long healed = load.first(readyAt, 200, false);
      String note = "statuses " + st + "; fault shown after " + (shown < 0 ? "-" : shown - killedAt)
          + " ms, healed " + (healed < 0 ? "never" : (healed - readyAt) + " ms") + " after the restart";
      int promised = onError.equals("block") ? st.getOrDefault(200, 0) + st.getOrDefault(503, 0)
          : st.getOrDefault(200, 0);
      Report.row("faults", "ICAP server killed and restarted, onError " + onError, total, promised, 0, 0, -1,
          total - promised, shown < 0 ? -1 : shown - killedAt, note);
      assertEquals(0, resets, "no reset: " + note);
      assertEquals(total, promised, "only what " + onError + " promises: " + note);
      assertTrue(healed >= 0, "served again after the restart: " + note);
      if (onError.equals("block")) {
        List<Integer> down = fault.whileDown(load).stream().map(Hit::status).toList();
        assertTrue(down.size() >= 20, "requests while the ICAP server was down: " + down);
        assertEquals(List.of(), down.stream().filter(x -> x != 503).toList(),
            "fail-closed: nothing but 503 pages while the ICAP server is down: " + note);
      }
    }
  }

  @Test
  void anOriginResettingConnectionsCosts502sNeverAReset() throws Exception {
    AtomicInteger n = new AtomicInteger();
    try (ServerSocket origin = new ServerSocket(0, 128, InetAddress.getLoopbackAddress())) {
      Thread t = new Thread(() -> {
        while (!origin.isClosed()) {
          try {
            Socket s = origin.accept();
            new Thread(() -> serveOrReset(s, n.incrementAndGet() % 4 == 0)).start();
          } catch (IOException e) {
            return;
          }
        }
      });
      t.setDaemon(true);
      t.start();
      int proxy = Host.freePort();
      cleanup.add(Peers.portcullis(dir.resolve("resets"), TestNodes.proxyNode("resets", Host.freePort(), proxy, ""),
          proxy));
      Load load = new Load(proxy, "http://127.0.0.1:" + origin.getLocalPort() + "/x");
      try (load) {
        load.awaitHits(0, 200, "through an origin that resets (a quarter of them reset)");
      }
      Map<Integer, Integer> st = load.statuses();
      int total = load.hits.size();
      int promised = st.getOrDefault(200, 0) + st.getOrDefault(502, 0);
      Report.row("faults", "origin resets a quarter of its connections", total, promised, 0, 0, -1,
          total - promised, -1, "statuses " + st + "; origin connections " + n.get());
      assertEquals(0, st.getOrDefault(-1, 0), "no reset reaches the client: " + st);
      assertEquals(total, promised, "200 or 502 only: " + st);
      assertTrue(st.getOrDefault(502, 0) > 0, st.toString());
    }
  }

  /** Answers one request, or resets the connection (SO_LINGER 0) once the request is read. */
  static void serveOrReset(Socket s, boolean reset) {
    try (s) {
      InputStream in = s.getInputStream();
      byte[] b = new byte[4096];
      StringBuilder head = new StringBuilder();
      while (!head.toString().contains("\r\n\r\n")) {
        int r = in.read(b);
        if (r < 0) {
          return;
        }
        head.append(new String(b, 0, r, StandardCharsets.ISO_8859_1));
      }
      if (reset) {
        s.setSoLinger(true, 0);
        return;
      }
      s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
          .getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      // the proxy went away
    }
  }

  @Test
  void clamdStoppedUnderLoadBlocksByTheRuleAndHealsWhenItIsBack() throws Exception {
    int origin = Peers.nginx(cleanup, dir.resolve("scan-origin"), Map.of("file.bin", "harmless content\n".repeat(100)));
    int clamdPort = Host.freePort();
    Map<String, String> sigs = Map.of("test.ndb", "Portcullis.Test.Reliability:0:*:"
        + "706f727463756c6c69732d6d616c77617265\n");
    Process clamd = cleanup.add(Clamd.start(dir.resolve("clamd"), clamdPort, sigs));
    int proxy = Host.freePort();
    cleanup.add(Peers.portcullis(dir.resolve("scan"), TestNodes.proxyNode("scan", Host.freePort(), proxy, "") + """
        scan: { clamd: { enabled: true, address: "127.0.0.1:%d", connectTimeout: 500ms }, timeout: 3s }
        rules:
          protection:
            - { name: scan-all, when: {}, action: block, onError: block }
        """.formatted(clamdPort), proxy));
    Load load = new Load(proxy, "http://127.0.0.1:" + origin + "/file.bin");
    Fault fault = load.killAndRestart(clamd, () -> cleanup.add(Clamd.start(dir.resolve("clamd"), clamdPort, sigs)));
    long stoppedAt = fault.killedAt();
    long backAt = fault.backAt();
    Map<Integer, Integer> st = load.statuses();
    int total = load.hits.size();
    // While clamd is down (requests begun after it was gone and ended before it was started again): never a 200.
    // Requests that ended before the kill, or that straddle it or the restart, may be served.
    List<Hit> down = fault.whileDown(load);
    Map<Integer, Integer> downSt = new TreeMap<>();
    down.forEach(h -> downSt.merge(h.status(), 1, Integer::sum));
    long shown = load.first(stoppedAt, 200, true);
    long healed = load.first(backAt, 200, false);
    String note = "statuses " + st + ", while clamd was down " + downSt + "; shown after "
        + (shown < 0 ? "-" : shown - stoppedAt) + " ms, healed " + (healed < 0 ? "never" : (healed - backAt) + " ms")
        + " after clamd listened again";
    int promised = st.getOrDefault(200, 0) + st.getOrDefault(403, 0) - downSt.getOrDefault(200, 0);
    Report.row("faults", "clamd killed and restarted, protection onError block", total, promised, 0, 0, -1,
        total - promised, shown < 0 ? -1 : shown - stoppedAt, note);
    assertEquals(0, st.getOrDefault(-1, 0), "no reset: " + note);
    assertTrue(down.size() >= 20, "requests while clamd was down: " + note);
    assertEquals(Map.of(403, down.size()), downSt, "the rule fails closed while clamd is down: the block page, never a"
        + " 200: " + note);
    assertEquals(total, st.getOrDefault(200, 0) + st.getOrDefault(403, 0), "200 or the block page only: " + note);
    assertTrue(healed >= 0, "scanned and served again once clamd is back: " + note);
  }

  @Test
  void commitsAndRollbacksUnderLoadFailNoRequest() throws Exception {
    int origin = pageOrigin("commit-origin");
    int proxy = Host.freePort();
    int admin = Host.freePort();
    String yaml = """
        node: { name: commits, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, maxConnectionsPerOrigin: %d }
        icap: { listen: 127.0.0.1:%d }
        rules:
          access:
            - { name: other-%d, when: { hosts: ["*.other.test"] }, action: block }
        """;
    int icap = Host.freePort();
    Process node = cleanup.add(Peers.portcullis(dir.resolve("commit"), yaml.formatted(admin, proxy, 64, icap, 0),
        proxy));
    Peers.waitForPort(admin, node, dir.resolve("commit/daemon.log")); // the admin API starts after the proxy
    Path data = dir.resolve("commit/data");
    String token = TestNodes.token(data);
    Load load = new Load(proxy, "http://127.0.0.1:" + origin + "/page.html");
    int commits = 0;
    try (load) {
      for (int i = 1; i <= 10; i++) {
        commit(admin, data, yaml.formatted(admin, proxy, 64 + i, icap, i));
        commits++;
        if (i % 3 == 0) {
          api(admin, token, "POST", "/api/v1/rollback", "{\"revision\": 1}");
          api(admin, token, "POST", "/api/v1/commit", "{}");
          commits++;
        }
        load.awaitHits(load.mark(), 8, "after commit " + i); // the load goes on between commits
      }
    }
    Map<Integer, Integer> st = load.statuses();
    int total = load.hits.size();
    Report.row("faults", commits + " commits (3 of them rollbacks) under load", total, st.getOrDefault(200, 0), 0, 0,
        -1, total - st.getOrDefault(200, 0), -1, "statuses " + st);
    assertEquals(Map.of(200, total), st);
  }
}
