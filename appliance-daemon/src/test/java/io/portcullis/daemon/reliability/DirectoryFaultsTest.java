package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.reliability.FaultsUnderLoadTest.Hit;
import io.portcullis.daemon.reliability.FaultsUnderLoadTest.Load;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Kdc;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Slapd;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identity's peers failing under load: slapd killed and started again while a directory user (no login remembered:
 * each request binds) and a local user log in, with onDirectoryDown refuse (both get the 503 page while it is down)
 * and local (the local user never notices); the KDC killed while Kerberos clients with tickets log in (they never
 * notice: a ticket is checked with the keytab alone). Never a reset or a hang; served again once the peer is back.
 */
@Tag("reliability")
class DirectoryFaultsTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;

  static String basic(String userPassword) {
    return "Proxy-Authorization: Basic " + Base64.getEncoder().encodeToString(userPassword.getBytes(
        StandardCharsets.UTF_8)) + "\r\n";
  }

  static Map<Integer, Integer> statuses(List<Hit> hits) {
    Map<Integer, Integer> m = new TreeMap<>();
    hits.forEach(h -> m.merge(h.status(), 1, Integer::sum));
    return m;
  }

  @Test
  void slapdKilledUnderLoadCostsLoginsByPolicyNeverAResetOrAHang() throws Exception {
    Slapd slapd = cleanup.add(Slapd.start(dir.resolve("slapd")), Slapd::stop);
    int origin = Peers.nginx(cleanup, dir.resolve("origin"), Map.of("page.html", "a page\n"));
    String carolHash = Host.runIn(dir, "openssl", "passwd", "-6", "carol-pw").output().strip();
    int proxy = Host.freePort();
    int admin = Host.freePort();
    String yaml = """
        node: { name: directory-faults, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        proxy:
          listen: 127.0.0.1:%d
          deniedDestinations: []
          auth:
            enabled: true
            cacheTtl: 0s
            lockout: { maxFailures: 0 }
            onDirectoryDown: %%s
            users:
              - { name: carol, password: '%s' }
            ldap:
              url: "%s"
              userBase: "%s"
              groupBase: "%s"
              groupFilter: "(&(objectClass=groupOfNames)(member={dn}))"
              timeout: 2s
        """.formatted(admin, Host.freePort(), proxy, carolHash, slapd.url(), Slapd.PEOPLE, Slapd.GROUPS);
    Process node = cleanup.add(Peers.portcullis(dir.resolve("node"), yaml.formatted("refuse"), proxy));
    Peers.waitForPort(admin, node, dir.resolve("node/daemon.log"));
    String url = "http://127.0.0.1:" + origin + "/page.html";
    for (String policy : List.of("refuse", "local")) {
      if (policy.equals("local")) {
        FaultsUnderLoadTest.commit(admin, dir.resolve("node/data"), yaml.formatted("local"));
      }
      Load alice = new Load(2, () -> FaultsUnderLoadTest.get(proxy, url, basic("alice:alicepw")));
      Load carol = new Load(2, () -> FaultsUnderLoadTest.get(proxy, url, basic("carol:carol-pw")));
      long aKilled;
      long aRestart;
      long cDown;
      long cRestart;
      long aReady;
      long killedAtMs;
      long backAtMs;
      try (alice; carol) {
        alice.awaitHits(0, 20, "before slapd stops");
        carol.awaitHits(0, 20, "before slapd stops");
        killedAtMs = alice.now();
        slapd.stop(); // returns once slapd is gone, and its sockets with it
        aKilled = alice.mark();
        Host.waitUntil("the readiness check directory down", Duration.ofSeconds(60),
            () -> io.portcullis.daemon.TestNodes.readiness(admin, "directory").equals("DOWN"));
        cDown = carol.mark();
        alice.awaitHits(aKilled, 20, "while slapd is down");
        carol.awaitHits(cDown, 20, "while slapd is down");
        aRestart = alice.mark();
        cRestart = carol.mark();
        slapd.run();
        backAtMs = alice.now();
        aReady = alice.mark();
        Host.waitUntil("alice served (200) once slapd is back", Duration.ofSeconds(60),
            () -> alice.within(aReady, Long.MAX_VALUE).stream().anyMatch(h -> h.status() == 200));
        long cReady = carol.mark();
        carol.awaitHits(cReady, 5, "after slapd is back");
      }
      Map<Integer, Integer> a = alice.statuses();
      Map<Integer, Integer> c = carol.statuses();
      Map<Integer, Integer> aDown = statuses(alice.within(aKilled, aRestart));
      Map<Integer, Integer> cDownSt = statuses(carol.within(cDown, cRestart));
      long shown = alice.first(killedAtMs, 200, true);
      long healed = alice.first(backAtMs, 200, false);
      String note = "alice (directory) " + a + ", while down " + aDown + "; carol (local) " + c + ", while down "
          + cDownSt + "; shown after " + (shown < 0 ? "-" : shown - killedAtMs) + " ms, healed "
          + (healed < 0 ? "never" : (healed - backAtMs) + " ms") + " after slapd listened again";
      int carolPromised = policy.equals("local") ? c.getOrDefault(200, 0)
          : c.getOrDefault(200, 0) + c.getOrDefault(503, 0) - cDownSt.getOrDefault(200, 0);
      int total = alice.hits.size() + carol.hits.size();
      int promised = a.getOrDefault(200, 0) + a.getOrDefault(503, 0) - aDown.getOrDefault(200, 0) + carolPromised;
      Report.row("faults", "slapd killed and restarted, onDirectoryDown " + policy, total, promised, 0, 0, -1,
          total - promised, shown < 0 ? -1 : shown - killedAtMs, note);
      assertEquals(0, a.getOrDefault(-1, 0) + c.getOrDefault(-1, 0), "no reset, no hang: " + note);
      assertTrue(alice.within(aKilled, aRestart).size() >= 20, note);
      assertEquals(Map.of(503, alice.within(aKilled, aRestart).size()), aDown,
          "a directory user gets the 503 page while the directory is down, never in: " + note);
      if (policy.equals("refuse")) {
        assertEquals(Map.of(503, carol.within(cDown, cRestart).size()), cDownSt,
            "refuse: local users too once the directory is known down: " + note);
      } else {
        assertEquals(Map.of(200, carol.hits.size()), c, "local: a local user never notices: " + note);
      }
      assertEquals(total, promised, note);
      assertTrue(healed >= 0, note);
      String log = Peers.read(dir.resolve("node/daemon.log"));
      assertTrue(log.contains("the directory (" + slapd.url() + ") cannot be used")
          && log.contains("the directory (" + slapd.url() + ") answers again"), "the log says when: " + log);
    }
  }

  @Test
  void theKdcKilledUnderLoadCostsNoKerberosLogin() throws Exception {
    Kdc kdc = cleanup.add(Kdc.start(dir.resolve("kdc")), Kdc::stop);
    int origin = Peers.nginx(cleanup, dir.resolve("kdc-origin"), Map.of("page.html", "a page\n"));
    int proxy = Host.freePort();
    String yaml = """
        node: { name: kdc-faults, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        proxy:
          listen: 127.0.0.1:%d
          deniedDestinations: []
          auth:
            enabled: true
            negotiate: { keytab: http.keytab, principal: "%s", krb5Conf: krb5.conf }
        """.formatted(Host.freePort(), Host.freePort(), proxy, Kdc.SERVICE);
    Path nodeDir = java.nio.file.Files.createDirectories(dir.resolve("kdc-node"));
    java.nio.file.Files.copy(kdc.keytab(), nodeDir.resolve("http.keytab"));
    java.nio.file.Files.copy(kdc.krb5Conf(), nodeDir.resolve("krb5.conf"));
    cleanup.add(Peers.portcullis(nodeDir, yaml, proxy));
    String[] env = kdc.env(kdc.kinit("alice", "alicepw"));
    List<String> cmd = new ArrayList<>(List.of("env"));
    cmd.addAll(List.of(env));
    cmd.addAll(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-x",
        "http://localhost:" + proxy, "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/page.html"));
    Load load = new Load(2, () -> {
      try {
        String out = Host.runIn(dir, cmd.toArray(String[]::new)).output().strip();
        return out.matches("\\d{3}") && !out.equals("000") ? Integer.parseInt(out) : -1;
      } catch (Exception e) {
        return -1;
      }
    });
    long killed;
    long restart;
    try (load) {
      load.awaitHits(0, 10, "before the KDC stops");
      kdc.stop();
      killed = load.mark();
      load.awaitHits(killed, 20, "while the KDC is down");
      restart = load.mark();
      kdc.run();
      long ready = load.mark();
      load.awaitHits(ready, 5, "after the KDC is back");
    }
    Map<Integer, Integer> st = load.statuses();
    Map<Integer, Integer> down = statuses(load.within(killed, restart));
    String note = "statuses " + st + ", while the KDC was down " + down;
    int total = load.hits.size();
    Report.row("faults", "KDC killed and restarted, Kerberos logins with tickets", total, st.getOrDefault(200, 0), 0,
        0, -1, total - st.getOrDefault(200, 0), -1, note);
    assertTrue(load.within(killed, restart).size() >= 20, note);
    assertEquals(Map.of(200, total), st, "a ticket is checked with the keytab alone: " + note);
  }
}
