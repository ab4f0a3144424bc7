package io.portcullis.daemon.cluster;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Wire;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control node and three nodes, each a whole daemon on loopback with its own ports and data dir: commits reach
 * every node, a node that was down catches up, nodes keep serving without their control node, joins need the secret,
 * the balancer's pools follow membership, and commit confirmed reverts cluster-wide. The tests run in order: each
 * starts from the cluster the previous one left.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {
  static final String SECRET = "cluster-join-secret-0123";
  @TempDir
  static Path dir;
  static com.sun.net.httpserver.HttpServer origin;
  static String site;
  static int clusterPort;
  static int web;
  static final Node control = new Node("control");
  static final Node n1 = new Node("n1");
  static final Node n2 = new Node("n2");
  static final Node n3 = new Node("n3");

  /** One daemon: its ports, data dir and config file (which each commit rewrites, and a restart reads). */
  static final class Node {
    final String name;
    final String home;
    int admin;
    int proxy;
    int icap;
    Daemon daemon;

    Node(String name) {
      this(name, name);
    }

    Node(String name, String home) {
      this.name = name;
      this.home = home;
    }

    Path data() {
      return dir.resolve(home).resolve("data");
    }

    Path file() {
      return dir.resolve(home).resolve("portcullis.yaml");
    }

    String api(String path) {
      return "http://127.0.0.1:" + admin + path;
    }

    /** The node's own listeners, as its config and the control node's say them. */
    String listeners() {
      return """
          admin: { listen: 127.0.0.1:%d }
          proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
          icap: { listen: 127.0.0.1:%d }
          """.formatted(admin, proxy, icap);
    }

    void start(String text) throws Exception {
      Files.createDirectories(file().getParent());
      if (text != null) {
        Files.writeString(file(), text);
      }
      String t = Files.readString(file());
      daemon = Daemon.start(new Daemon.Options(data(), file()), t, ConfigLoader.parse(t), file().toString());
    }

    void stop() {
      if (daemon != null) {
        daemon.stop();
        daemon = null;
      }
    }

    JsonObject get(String path) throws Exception {
      TestNodes.Answer a = call("GET", api(path), TestNodes.token(data()), null);
      assertEquals(200, a.status(), a.body());
      return a.json();
    }
  }

  /** The join key of node {@code name}, as the control node's console gives it. */
  static String joinKey(String name) throws Exception {
    String out = console(control, "show", "cluster", "join-key", name);
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("set cluster joinKey (\\S+)").matcher(out);
    assertTrue(m.find(), out);
    return m.group(1);
  }

  static String nodeText(Node n, String key) {
    return """
        node: { name: %s, shutdownGrace: 1s }
        %scluster:
          role: node
          control: 127.0.0.1:%d
          joinKey: %s
          local: [proxy.listen, icap.listen]
        """.formatted(n.name, n.listeners(), clusterPort, key);
  }

  /** The control node's config: its own listeners, the nodes listed, a balancer whose pool is the members. */
  static String controlText(String blocked, String... members) {
    StringBuilder nodes = new StringBuilder();
    for (String m : members) {
      Node n = m.equals("n1") ? n1 : m.equals("n2") ? n2 : n3;
      nodes.append("    - { name: ").append(m).append(", address: 127.0.0.1, proxyPort: ").append(n.proxy)
          .append(", icapPort: ").append(n.icap).append(" }\n");
    }
    return """
        node: { name: control, shutdownGrace: 1s }
        %scluster:
          role: control
          listen: 127.0.0.1:%d
          secret: %s
          commitWait: 10s
          nodes:
        %s
        balancer:
          enabled: true
          frontends:
            - name: web
              listen: 127.0.0.1:%d
              members: proxy
              check: { type: tcp, interval: 200ms, timeout: 500ms, rise: 1, fall: 2 }
        """.formatted(control.listeners(), clusterPort, SECRET, nodes, web)
        + (blocked == null ? "" : """
        rules:
          access:
            - { name: no-%s, when: { urls: ["*/%s*"] }, action: block }
        """.formatted(blocked, blocked));
  }

  @BeforeAll
  static void start() throws Exception {
    origin = Host.origin();
    site = "http://127.0.0.1:" + origin.getAddress().getPort();
    clusterPort = freePort();
    web = freePort();
    for (Node n : new Node[] {control, n1, n2, n3}) {
      n.admin = freePort();
      n.proxy = freePort();
      n.icap = freePort();
    }
    control.start(controlText(null, "n1", "n2"));
    n1.start(nodeText(n1, joinKey("n1")));
    n2.start(nodeText(n2, joinKey("n2")));
    await(() -> states().equals("n1=in sync,n2=in sync"), "both nodes joined and in sync");
  }

  @AfterAll
  static void stop() {
    for (Node n : new Node[] {n1, n2, n3, control}) {
      n.stop();
    }
    if (origin != null) {
      origin.stop(0);
    }
  }

  static String states() {
    try {
      JsonArray nodes = control.get("/api/v1/cluster").getJsonArray("nodes");
      StringBuilder sb = new StringBuilder();
      for (Object o : nodes) {
        JsonObject j = (JsonObject) o;
        sb.append(sb.length() == 0 ? "" : ",").append(j.getString("name")).append('=').append(j.getString("state"));
      }
      return sb.toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 30 s: " + what + " (cluster: " + states() + ")");
      }
      Thread.sleep(50);
    }
  }

  static int via(Node n, String path) throws Exception {
    return Host.viaProxy(n.proxy, site + path).statusCode();
  }

  /** Runs the console's command {@code args} against {@code n}; its output (stdout, then stderr). */
  static String console(Node n, String... args) {
    LocalConsole.Result r = LocalConsole.run(n.admin, n.data(), null, args);
    return r.out() + r.err() + (r.code() == 0 ? "" : "(exit " + r.code() + ")");
  }

  /** Puts {@code text} as the control node's candidate and commits it through the admin API; the answer. */
  static JsonObject commit(Node n, String text, String extra) throws Exception {
    String token = TestNodes.token(n.data());
    TestNodes.Answer put = call("PUT", n.api("/api/v1/candidate"), token, new JsonObject().put("yaml", text).encode());
    assertEquals(200, put.status(), put.body());
    assertTrue(put.json().getBoolean("valid"), put.body());
    TestNodes.Answer a = call("POST", n.api("/api/v1/commit"), token, extra == null ? "{}" : extra);
    assertEquals(200, a.status(), a.body());
    return a.json();
  }

  @Test
  @Order(1)
  void aCommitOnTheControlNodeIsInEffectOnEveryNodeWhenCommitReturns() throws Exception {
    assertEquals(200, via(n1, "/blocked/page"));
    long t0 = System.nanoTime();
    JsonObject answer = commit(control, controlText("blocked", "n1", "n2"), null);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(new JsonArray(), answer.getJsonObject("nodes").getJsonArray("laggards"), answer.encode());
    assertEquals(403, via(n1, "/blocked/page"), "n1 serves the new rule");
    assertEquals(403, via(n2, "/blocked/page"), "n2 serves the new rule");
    assertEquals(200, via(n2, "/open/page"));
    System.out.println("cluster: commit on control to rule in effect on 2 nodes: " + ms + " ms");
    int rev = answer.getInteger("revision");
    for (Node n : new Node[] {n1, n2}) {
      JsonObject st = n.get("/api/v1/status").getJsonObject("cluster");
      assertEquals("in sync", st.getString("state"), st.encode());
      assertEquals(rev, st.getInteger("revision"));
      assertEquals(n.proxy, n.daemon.port("proxy"), "local keys stay the node's own");
    }
    // The nodes' decisions reach the control node: events, metrics labelled by node, balancer reports.
    await(() -> {
      try {
        return control.get("/api/v1/events?action=block&limit=50").getJsonArray("events").stream()
            .map(o -> ((JsonObject) o).getString("node")).toList().containsAll(java.util.List.of("n1", "n2"));
      } catch (Exception e) {
        return false;
      }
    }, "the nodes' block events on the control node");
    await(() -> {
      try {
        String m = call("GET", control.api("/metrics"), TestNodes.token(control.data()), null).body();
        return m.contains("portcullis_decisions_total{node=\"n1\",") && m.contains("node=\"n2\"");
      } catch (Exception e) {
        return false;
      }
    }, "the nodes' metrics in the control node's /metrics");
    assertNotNull(control.get("/api/v1/balancer").getJsonObject("nodes").getJsonObject("n1"));
    // One inspection CA for the cluster: the control node's, sent with the config over the cluster's mutual TLS,
    // kept by each node (its key readable by the daemon's user only).
    String ca = control.get("/api/v1/tls/ca").getString("fingerprint");
    for (Node n : new Node[] {n1, n2}) {
      assertEquals(ca, n.get("/api/v1/tls/ca").getString("fingerprint"), "the node shows the control node's CA");
      assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(java.nio.file.Files
          .getPosixFilePermissions(n.data().resolve("tls/cluster/ca.key"))));
    }
    // Rotated on the control node (no new revision): the nodes take the new CA at once, not at the next commit.
    TestNodes.Answer rotated = call("POST", control.api("/api/v1/tls/ca/rotate"), TestNodes.token(control.data()),
        "{}");
    assertEquals(200, rotated.status(), rotated.body());
    String fresh = rotated.json().getString("fingerprint");
    assertTrue(!fresh.equals(ca), "a new CA");
    await(() -> {
      try {
        return fresh.equals(n1.get("/api/v1/tls/ca").getString("fingerprint"))
            && fresh.equals(n2.get("/api/v1/tls/ca").getString("fingerprint"));
      } catch (Exception e) {
        return false;
      }
    }, "the nodes show the rotated CA");
    String shown = console(control, "show", "cluster");
    assertTrue(shown.matches("(?s).*n1 +127\\.0\\.0\\.1 +in sync +" + rev + " +yes.*"), shown);
    assertTrue(console(n2, "show", "cluster").contains("in sync, control revision " + rev), "the node's view");
    assertTrue(console(n2, "show", "status").contains("node of the control node at 127.0.0.1:" + clusterPort));
  }

  @Test
  @Order(2)
  void theBalancerPoolFollowsMembershipWithoutDroppingEstablishedConnections() throws Exception {
    await(() -> upServers().equals("n1,n2"), "n1 and n2 up in the web pool");
    try (Socket s = new Socket("127.0.0.1", web)) {
      s.setSoTimeout(10_000);
      assertTrue(get(s).startsWith("HTTP/1.1 200"));
      // A node joins by being listed on the control node, then starting with the secret: until it has, commit
      // names it without waiting for it.
      JsonObject answer = commit(control, controlText("blocked", "n1", "n2", "n3"), null);
      assertEquals(new JsonArray().add("n3"), answer.getJsonObject("nodes").getJsonArray("laggards"));
      assertTrue(states().contains("n3=not joined"), states());
      n3.start(nodeText(n3, joinKey("n3")));
      await(() -> states().equals("n1=in sync,n2=in sync,n3=in sync"), "n3 joined");
      assertEquals(403, via(n3, "/blocked/x"), "n3 got the rules at join");
      await(() -> upServers().equals("n1,n2,n3"), "n3 added to the web pool and up");
      assertTrue(get(s).startsWith("HTTP/1.1 200"), "the connection opened before the commit still serves");
      String cfg = call("GET", control.api("/api/v1/balancer/haproxy.cfg"), TestNodes.token(control.data()), null)
          .body();
      assertTrue(cfg.contains("server n3 127.0.0.1:" + n3.proxy), cfg);
      // And out again: a node removed from the cluster leaves the pool (and may no longer pull config).
      commit(control, controlText("blocked", "n1", "n2"), null);
      await(() -> upServers().equals("n1,n2"), "n3 out of the web pool");
      assertTrue(get(s).startsWith("HTTP/1.1 200"), "still the same connection");
    } finally {
      n3.stop();
    }
  }

  static String upServers() {
    try {
      JsonObject b = control.get("/api/v1/balancer");
      StringBuilder sb = new StringBuilder();
      for (Object f : b.getJsonArray("frontends")) {
        for (Object s : ((JsonObject) f).getJsonArray("servers")) {
          JsonObject j = (JsonObject) s;
          if ("up".equals(j.getString("state"))) {
            sb.append(sb.length() == 0 ? "" : ",").append(j.getString("name"));
          }
        }
      }
      return sb.toString();
    } catch (Exception e) {
      return e.toString();
    }
  }

  /** One keep-alive GET through the balancer on {@code s}; the status line and headers. */
  static String get(Socket s) throws Exception {
    String head = Wire.keepAliveGet(s, site + "/open", "127.0.0.1");
    assertTrue(head.toLowerCase().contains("\r\ncontent-length:"), head);
    return head;
  }

  @Test
  @Order(3)
  void aNodeDownDuringACommitCatchesUpWhenItStarts() throws Exception {
    n2.stop();
    Path next = dir.resolve("second.yaml");
    // Waiting in vain is the point here: a short wait keeps the test short. Elsewhere the default-like 10 s, as
    // a busy 2-core CI machine took over 2 s for a node to apply a commit.
    Files.writeString(next, controlText("second", "n1", "n2").replace("commitWait: 10s", "commitWait: 2s"));
    String said = console(control, "commit", "file", next.toString(), "comment", "while n2 is down");
    assertTrue(said.contains("warning: 1 of 2 nodes have revision") && said.contains("not within 2 s: n2"),
        "commit names the node it waited for in vain: " + said);
    assertEquals(403, via(n1, "/second/x"));
    n2.start(null); // its own file: the last config it had
    await(() -> states().equals("n1=in sync,n2=in sync"), "n2 caught up");
    assertEquals(403, via(n2, "/second/x"));
    assertEquals(200, via(n2, "/blocked/x"), "the rule the new revision dropped is gone on n2 too");
    assertEquals(control.get("/api/v1/tls/ca").getString("fingerprint"),
        n2.get("/api/v1/tls/ca").getString("fingerprint"), "restarted, n2 still shows the cluster's CA");
  }

  @Test
  @Order(4)
  void commitConfirmedWithoutConfirmRevertsEveryNode() throws Exception {
    JsonObject answer = commit(control, controlText("third", "n1", "n2"), "{\"confirm\": \"3s\"}");
    assertNotNull(answer.getString("confirmBy"));
    assertEquals(403, via(n1, "/third/x"));
    assertEquals(403, via(n2, "/third/x"));
    await(() -> {
      try {
        return via(n1, "/third/x") == 200 && via(n2, "/third/x") == 200 && via(n2, "/second/x") == 403;
      } catch (Exception e) {
        return false;
      }
    }, "every node back on the previous revision");
  }

  @Test
  @Order(5)
  void aJoinWithTheWrongSecretOrFromAnUnlistedNodeIsRefused() throws Exception {
    // n3 again but from a fresh data dir (n3 proper has joined already), with a wrong secret; n9 is not listed.
    Node w = new Node("n3", "n3-wrong");
    Node unlisted = new Node("n9");
    for (Node n : new Node[] {w, unlisted}) {
      n.admin = freePort();
      n.proxy = freePort();
      n.icap = freePort();
    }
    try {
      w.start(nodeText(w, "not-the-cluster-secret"));
      // n9 has a key the control node made (it was listed once, say), but is not listed now.
      assertTrue(console(control, "show", "cluster", "join-key", "n9").contains("not in cluster.nodes"));
      unlisted.start(nodeText(unlisted, io.portcullis.daemon.cluster.ClusterCa.joinKey(SECRET, "n9")));
      await(() -> {
        try {
          return "join refused".equals(w.get("/api/v1/cluster").getString("state"))
              && "join refused".equals(unlisted.get("/api/v1/cluster").getString("state"));
        } catch (Exception e) {
          return false;
        }
      }, "both joins refused");
      assertTrue(w.get("/api/v1/cluster").getString("reason").contains("wrong join key"));
      assertTrue(unlisted.get("/api/v1/cluster").getString("reason").contains("not in cluster.nodes"));
      assertFalse(Files.exists(w.data().resolve("cluster/node/node.crt")));
    } finally {
      w.stop();
      unlisted.stop();
    }
    // Without a certificate nothing but join answers: curl, which has none, is refused the config.
    Host.Run r = Curl.in(dir).hideErrors().run("-k", "-o", "/dev/null", "-w", "%{http_code}",
        "https://127.0.0.1:" + clusterPort + "/cluster/v1/config?after=0");
    assertEquals("403", r.output().strip(), r.toString());
  }

  @Test
  @Order(6)
  void nodesKeepServingTheirLastConfigWithoutTheControlNodeAndRefuseLocalChanges() throws Exception {
    int rev = n1.get("/api/v1/status").getJsonObject("cluster").getInteger("revision");
    control.stop();
    await(() -> {
      try {
        return "unreachable".equals(n1.get("/api/v1/cluster").getString("state"));
      } catch (Exception e) {
        return false;
      }
    }, "n1 sees its control node gone");
    assertEquals(403, via(n1, "/second/x"), "the last rule still applies");
    assertEquals(200, via(n1, "/open/x"));
    JsonObject health = new JsonObject(call("GET", n1.api("/health/ready"), null, null).body());
    assertTrue(health.encode().contains("unreachable"), health.encode());
    // A local change to what the control node owns is refused unless forced.
    String mine = Files.readString(n1.file()) + "\n";
    String changed = mine.replace("no-second", "no-second-here");
    assertFalse(changed.equals(mine));
    String token = TestNodes.token(n1.data());
    call("PUT", n1.api("/api/v1/candidate"), token, new JsonObject().put("yaml", changed).encode());
    TestNodes.Answer refused = call("POST", n1.api("/api/v1/commit"), token, "{}");
    assertEquals(409, refused.status(), refused.body());
    assertTrue(refused.body().contains("takes its config from the control node"), refused.body());
    TestNodes.Answer forced = call("POST", n1.api("/api/v1/commit"), token, "{\"force\": true}");
    assertEquals(200, forced.status(), forced.body());
    // The control node back: the nodes reconnect to it (same CA), on the revision they had.
    control.start(null);
    await(() -> states().equals("n1=in sync,n2=in sync"), "nodes back in sync with the restarted control node");
    assertEquals(rev, n2.get("/api/v1/status").getJsonObject("cluster").getInteger("revision"));
  }
  @Test
  @Order(7)
  void aSecondControlNodeWithTheSecretCannotTakeOverAJoinedNode() throws Exception {
    Node rogue = new Node("rogue");
    rogue.admin = freePort();
    int rogueCluster = freePort();
    rogue.start("""
        node: { name: rogue, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { enabled: false }
        cluster: { role: control, listen: "127.0.0.1:%d", secret: %s, nodes: [{ name: n1, address: 127.0.0.1 }] }
        """.formatted(rogue.admin, rogueCluster, SECRET));
    try {
      // cluster is n1's own section: pointing it elsewhere needs no force.
      String mine = Files.readString(n1.file());
      String moved = mine.replace("127.0.0.1:" + clusterPort, "127.0.0.1:" + rogueCluster);
      assertFalse(moved.equals(mine), mine);
      commit(n1, moved, null);
      await(() -> {
        try {
          JsonObject c = n1.get("/api/v1/cluster");
          return "unreachable".equals(c.getString("state"))
              && c.getString("reason", "").contains("not the one this node joined");
        } catch (Exception e) {
          return false;
        }
      }, "n1 refuses a control node its pinned CA did not make");
      assertEquals(403, via(n1, "/second/x"), "n1 keeps its last config");
      assertTrue(rogue.get("/api/v1/cluster").getJsonArray("nodes").getJsonObject(0).getString("state")
          .equals("not joined"), "n1 never reached the second control node's API");
      commit(n1, mine, null);
      await(() -> states().startsWith("n1=in sync"), "n1 back with its control node");
    } finally {
      rogue.stop();
    }
  }

  @Test
  @Order(8)
  void aNodesOwnCommitConfirmedRevertsOnlyItsLocalKeys() throws Exception {
    String mine = Files.readString(n2.file());
    String slower = mine.replace("shutdownGrace: 1s", "shutdownGrace: 2s");
    assertFalse(slower.equals(mine), mine);
    assertNotNull(commit(n2, slower, "{\"confirm\": \"3s\"}").getString("confirmBy"), "a local key: no force");
    JsonObject answer = commit(control, controlText("fourth", "n1", "n2"), null);
    assertEquals(new JsonArray(), answer.getJsonObject("nodes").getJsonArray("laggards"), answer.encode());
    assertEquals(403, via(n2, "/fourth/x"));
    await(() -> {
      try {
        return !n2.get("/api/v1/status").containsKey("pendingConfirm")
            && n2.get("/api/v1/config").getString("yaml").contains("shutdownGrace: 1s") && via(n2, "/fourth/x") == 403
            && states().equals("n1=in sync,n2=in sync");
      } catch (Exception e) {
        return false;
      }
    }, "n2's own change reverted, the control node's revision kept");
  }
}
