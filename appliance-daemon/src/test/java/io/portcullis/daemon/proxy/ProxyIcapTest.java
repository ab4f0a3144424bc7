package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The seed's path: curl → our proxy → (REQMOD) → nginx → (RESPMOD) → curl, with our ICAP server or real c-icap. */
class ProxyIcapTest {
  static final String EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  @TempDir
  static Path dir;
  static Daemon daemon;
  static Process nginx;
  static Process cicap;
  static int origin;
  static int proxy;
  static int cicapPort;
  static Path www;

  @BeforeAll
  static void start() throws Exception {
    Peers.require("curl", "curl");
    www = dir.resolve("www");
    Files.createDirectories(www);
    Random random = new Random(5);
    for (var e : List.of(List.of("1k.bin", 1024), List.of("5m.bin", 5 << 20))) {
      byte[] data = new byte[(Integer) e.get(1)];
      random.nextBytes(data);
      Files.write(www.resolve((String) e.get(0)), data);
    }
    Files.writeString(www.resolve("eicar.com"), EICAR);
    origin = freePort();
    nginx = Peers.nginx(dir.resolve("nginx"), www, origin);
    cicapPort = freePort();
    cicap = Peers.cIcap(dir.resolve("c-icap"), cicapPort);
    proxy = freePort();
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
        """.formatted(freePort(), proxy, freePort());
    daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null), text, ConfigLoader.parse(text), "test");
  }

  @AfterAll
  static void stop() {
    Peers.stop(cicap);
    Peers.stop(nginx);
    if (daemon != null) {
      daemon.stop();
    }
  }

  Run curl(String... args) throws Exception {
    String[] cmd = new String[args.length + 6];
    cmd[0] = "curl";
    cmd[1] = "-sS";
    cmd[2] = "--max-time";
    cmd[3] = "60";
    cmd[4] = "-x";
    cmd[5] = "http://127.0.0.1:" + proxy;
    System.arraycopy(args, 0, cmd, 6, args.length);
    return runIn(dir, cmd);
  }

  void assertIntact(String name) throws Exception {
    Path got = dir.resolve("got-" + name);
    Run r = curl("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin + "/" + name);
    assertEquals("200", r.output().strip(), name + ": " + r.output());
    assertEquals(ProxyInteropTest.sha256(www.resolve(name)), ProxyInteropTest.sha256(got), name);
  }

  void commitIcap(String icapYaml) throws Exception {
    String text = daemon.commits().active().text().replaceAll("(?m)^proxy: .*$",
        "proxy: { deniedDestinations: [], listen: 127.0.0.1:" + proxy + ", icap: " + icapYaml + " }");
    daemon.commits().setCandidate(text);
    daemon.commits().commit("test", "icap", null).get(20, TimeUnit.SECONDS);
  }

  @Test
  void withOurIcapServerPagesPassBlockPagesRedirectsAndEicarAreAnswered() throws Exception {
    commitIcap("{}");
    assertIntact("1k.bin");
    assertIntact("5m.bin");
    Path page = dir.resolve("blocked.html");
    assertEquals("403", curl("-o", page.toString(), "-w", "%{http_code}", "http://www.example.test/<x>").output()
        .strip());
    assertTrue(Files.readString(page).contains("no-example"));
    assertEquals("302 https://portal.test/", curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
        "http://news.test/").output().strip());
    Path eicar = dir.resolve("eicar.html");
    assertEquals("403", curl("-o", eicar.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin
        + "/eicar.com").output().strip());
    assertTrue(Files.readString(eicar).contains("EICAR-Test-File"));
    // A POST goes through REQMOD (zero-byte preview) and reaches the origin (nginx answers 405 to POST).
    Path body = dir.resolve("post.bin");
    Files.write(body, new byte[200_000]);
    assertEquals("405", curl("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body,
        "http://127.0.0.1:" + origin + "/1k.bin").output().strip());
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
      assertEquals("503", curl("-o", page.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin
          + "/1k.bin").output().strip());
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
