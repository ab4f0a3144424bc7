package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * proxy.requestTimeout against origins that never end: a silent one (accepts, never answers) and a real nginx that
 * trickles its files at 64 KiB/s, each byte well within proxy.upstreamTimeout. Tunnels are not limited.
 */
class ProxyTimeoutTest {
  @TempDir
  static Path dir;
  static Daemon daemon;
  static Process nginx;
  static ServerSocket silent;
  static int fast;
  static int slow;
  static int proxy;
  static int admin;
  static int icapPort;
  static Path www;

  @BeforeAll
  static void start() throws Exception {
    Peers.require("curl", "curl");
    www = dir.resolve("www");
    Files.createDirectories(www);
    Random random = new Random(7);
    byte[] big = new byte[1 << 20];
    random.nextBytes(big);
    Files.write(www.resolve("1m.bin"), big);
    byte[] small = new byte[256 * 1024];
    random.nextBytes(small);
    Files.write(www.resolve("256k.bin"), small);
    fast = freePort();
    slow = freePort();
    nginx = Peers.nginx(dir.resolve("nginx"), www, fast, """
          server {
            listen 127.0.0.1:%d;
            root %s;
            limit_rate 64k;
          }
        """.formatted(slow, www));
    Peers.waitForPort(slow, nginx, dir.resolve("nginx/error.log"));
    // Accepted by the kernel (backlog), never read, never answered.
    silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    proxy = freePort();
    admin = freePort();
    icapPort = freePort();
    String text = config("{}");
    daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null), text, ConfigLoader.parse(text), "test");
  }

  /** The proxy with a 2 s request timeout (upstreamTimeout far longer), tunnels to the slow nginx allowed. */
  static String config(String icap) {
    return """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, requestTimeout: 2s, upstreamTimeout: 60s, connectPorts: [%d], icap: %s }
        icap: { listen: 127.0.0.1:%d }
        rules:
          protection:
            - { name: scan-all, action: block }
        """.formatted(admin, proxy, slow, icap, icapPort);
  }

  @AfterAll
  static void stop() throws Exception {
    Peers.stop(nginx);
    if (silent != null) {
      silent.close();
    }
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

  void commit(String icap) throws Exception {
    daemon.commits().setCandidate(config(icap));
    daemon.commits().commit("test", "icap " + icap, null).get(20, TimeUnit.SECONDS);
  }

  void assertStillServes() throws Exception {
    Path got = dir.resolve("fast.bin");
    assertEquals("200", curl("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + fast + "/256k.bin")
        .output().strip());
    assertEquals(ProxyInteropTest.sha256(www.resolve("256k.bin")), ProxyInteropTest.sha256(got));
  }

  @Test
  void anOriginThatNeverAnswersGetsTheUserA504PageAtTheRequestTimeout() throws Exception {
    Path page = dir.resolve("silent.html");
    Run r = curl("-o", page.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + silent.getLocalPort() + "/");
    assertEquals("504", r.output().strip(), r.output());
    assertTrue(Files.readString(page).contains("took longer than this proxy allows"), Files.readString(page));
    assertStillServes();
  }

  @Test
  void aTricklingDownloadHeldForItsScanGetsA504PageAndTheIcapExchangeStops() throws Exception {
    // The scan needs the whole body, so our ICAP server has not answered when the time is up.
    Path page = dir.resolve("scan.html");
    Run r = curl("-o", page.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/1m.bin");
    assertEquals("504", r.output().strip(), r.output());
    assertTrue(Files.readString(page).contains("Gateway timeout"));
    assertStillServes();
  }

  @Test
  void aTricklingDownloadAlreadyUnderWayIsCutByClosingTheConnection() throws Exception {
    commit("{ reqmod: [\"icap://127.0.0.1:" + icapPort + "/av/reqmod\"], respmod: [\"icap://127.0.0.1:" + freePort()
        + "/av/respmod\"], onError: bypass }");
    try {
      // RESPMOD's service is down and bypassed: the 200 head goes out at once, then the body trickles.
      Path got = dir.resolve("cut.bin");
      Run r = curl("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/1m.bin");
      assertEquals(18, r.exit(), "curl: partial file: " + r.output()); // CURLE_PARTIAL_FILE
      assertTrue(r.output().strip().endsWith("200"), r.output()); // -w prints after curl's error line
      long size = Files.size(got);
      assertTrue(size > 0 && size < (1 << 20), "got " + size + " bytes of 1 MiB");
      assertStillServes();
    } finally {
      commit("{}");
    }
  }

  @Test
  void aConnectTunnelLivesLongerThanTheRequestTimeout() throws Exception {
    // 256 KiB at 64 KiB/s: about 4 s through the tunnel, twice the request timeout.
    Path got = dir.resolve("tunnel.bin");
    Run r = curl("-p", "-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/256k.bin");
    assertEquals("200", r.output().strip(), r.output());
    assertEquals(ProxyInteropTest.sha256(www.resolve("256k.bin")), ProxyInteropTest.sha256(got));
  }
}
