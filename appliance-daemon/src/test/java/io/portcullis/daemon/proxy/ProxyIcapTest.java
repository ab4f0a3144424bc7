package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Eicar;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The seed's path: curl → our proxy → (REQMOD) → nginx → (RESPMOD) → curl, with our ICAP server or real c-icap. */
class ProxyIcapTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static Curl curl;
  static int origin;
  static int proxy;
  static int cicapPort;
  static Path www;
  static int admin;

  @BeforeAll
  static void start() throws Exception {
    www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("1k.bin"), 1024, 5);
    Host.randomFile(www.resolve("5m.bin"), 5 << 20, 6);
    Files.writeString(www.resolve("eicar.com"), Eicar.TEXT);
    origin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin));
    cicapPort = freePort();
    cleanup.add(Peers.cIcap(dir.resolve("c-icap"), cicapPort));
    proxy = freePort();
    curl = Curl.in(dir).proxy(proxy);
    String text = """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        rules:
          access:
            - { name: no-example, when: { hosts: ["*.example.test"] }, action: block }
            - { name: to-portal, when: { hosts: [news.test] }, action: redirect, location: "https://portal.test/" }
          protection:
            - { name: scan-all, action: block }
        """.formatted(admin = freePort(), proxy, freePort());
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  void assertIntact(String name) throws Exception {
    Path got = dir.resolve("got-" + name);
    Run r = curl.run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin + "/" + name);
    assertEquals("200", r.output().strip(), name + ": " + r.output());
    assertEquals(Host.sha256(www.resolve(name)), Host.sha256(got), name);
  }

  void commitIcap(String icapYaml) throws Exception {
    String text = daemon.commits().active().text().replaceAll("(?m)^proxy: .*$",
        "proxy: { deniedDestinations: [], listen: 127.0.0.1:" + proxy + ", icap: " + icapYaml + " }");
    TestNodes.commit(daemon, text, "icap");
  }

  @Test
  void withOurIcapServerPagesPassBlockPagesRedirectsAndEicarAreAnswered() throws Exception {
    commitIcap("{}");
    assertIntact("1k.bin");
    assertIntact("5m.bin");
    Path page = dir.resolve("blocked.html");
    assertEquals("403", curl.status("http://www.example.test/<x>", page));
    assertTrue(Files.readString(page).contains("no-example"));
    assertEquals("302 https://portal.test/", curl.run("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
        "http://news.test/").output().strip());
    Path eicar = dir.resolve("eicar.html");
    assertEquals("403", curl.status("http://127.0.0.1:" + origin + "/eicar.com", eicar));
    assertTrue(Files.readString(eicar).contains("EICAR-Test-File"));
    // A POST goes through REQMOD (zero-byte preview) and reaches the origin (nginx answers 405 to POST).
    Path body = dir.resolve("post.bin");
    Files.write(body, new byte[200_000]);
    assertEquals("405", curl.run("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body,
        "http://127.0.0.1:" + origin + "/1k.bin").output().strip());
  }

  /** RESPMOD transactions our ICAP server answered so far, from the node's metrics. */
  long respmods() throws Exception {
    String metrics = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics",
        TestNodes.token(dir.resolve("data")), null).body();
    double n = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith("portcullis_icap_transactions_total{") && line.contains("method=\"RESPMOD\"")) {
        n += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return (long) n;
  }

  @Test
  void anAnswerTheRulesMadeAtReqmodIsNotSentToRespmod() throws Exception {
    commitIcap("{}");
    long before = respmods();
    assertIntact("1k.bin"); // the witness: an origin's answer goes through RESPMOD, and the metric shows it
    Host.waitUntil(() -> respmods() > before); // the server counts a transaction as it ends, on its own thread
    long afterOrigin = respmods();
    assertEquals(before + 1, afterOrigin);
    assertEquals("403", curl.status("http://www.example.test/", dir.resolve("blocked-once.html")));
    assertEquals("302", curl.run("-o", "/dev/null", "-w", "%{http_code}", "http://news.test/").output().strip());
    assertIntact("1k.bin"); // after the pages: a page's RESPMOD, had there been one, is counted before this one's
    Host.waitUntil(() -> respmods() > afterOrigin);
    assertEquals(afterOrigin + 1, respmods(), "the block page or the redirect went through RESPMOD");
  }

  @Test
  void withRealCIcapTrafficPassesIntact() throws Exception {
    String svc = "icap://127.0.0.1:" + cicapPort + "/echo";
    commitIcap("{ reqmod: [\"" + svc + "\"], respmod: [\"" + svc + "\"] }");
    try {
      assertIntact("1k.bin");
      assertIntact("5m.bin");
      String log = Peers.read(dir.resolve("c-icap/access.log"));
      assertTrue(log.contains("RESPMOD") && log.contains("REQMOD"), "c-icap saw our requests: " + log);
    } finally {
      commitIcap("{}");
    }
  }

  @Test
  void icapDownBypassesOrBlocksAsConfiguredAndRecoversWithoutRestart() throws Exception {
    String dead = "icap://127.0.0.1:" + freePort() + "/av/respmod";
    try {
      commitIcap("{ reqmod: [\"" + dead + "\"], respmod: [\"" + dead + "\"], onError: bypass }");
      assertIntact("1k.bin");
      commitIcap("{ reqmod: [\"" + dead + "\"], respmod: [\"" + dead + "\"], onError: block }");
      Path page = dir.resolve("503.html");
      assertEquals("503", curl.status("http://127.0.0.1:" + origin + "/1k.bin", page));
      assertTrue(Files.readString(page).contains("scanning service is not available"));
      // Failover: the dead service first, ours second.
      String own = "icap://127.0.0.1:" + daemon.port("icap");
      commitIcap("{ reqmod: [\"" + dead + "\", \"" + own + "/av/reqmod\"], respmod: [\"" + dead + "\", \"" + own
          + "/av/respmod\"] }");
      assertIntact("1k.bin");
    } finally {
      commitIcap("{}");
    }
  }
}
