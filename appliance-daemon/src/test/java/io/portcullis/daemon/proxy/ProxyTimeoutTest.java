package io.portcullis.daemon.proxy;

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
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * proxy.requestTimeout against origins that never end: a silent one (accepts, never answers) and a real nginx that
 * trickles its files at 64 KiB/s, each byte well within proxy.upstreamTimeout. Tunnels are not limited.
 */
class ProxyTimeoutTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static Curl curl;
  static ServerSocket silent;
  static int fast;
  static int slow;
  static int proxy;
  static int admin;
  static int icapPort;
  static Path www;

  @BeforeAll
  static void start() throws Exception {
    www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("1m.bin"), 1 << 20, 7);
    Host.randomFile(www.resolve("256k.bin"), 256 * 1024, 8);
    fast = freePort();
    slow = freePort();
    Process nginx = cleanup.add(Peers.nginx(dir.resolve("nginx"), www, fast, """
          server {
            listen 127.0.0.1:%d;
            root %s;
            limit_rate 64k;
          }
        """.formatted(slow, www)));
    Peers.waitForPort(slow, nginx, dir.resolve("nginx/error.log"));
    // Accepted by the kernel (backlog), never read, never answered.
    silent = cleanup.add(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    proxy = freePort();
    admin = freePort();
    icapPort = freePort();
    curl = Curl.in(dir).proxy(proxy);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), config("{}")), Daemon::stop);
  }

  /** The proxy with a 2 s request timeout (upstreamTimeout far longer), tunnels to the slow nginx allowed. */
  static String config(String icap) {
    return """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, requestTimeout: 2s, upstreamTimeout: 60s, connectPorts: [%d], icap: %s, tls: { onNonTls: tunnel } }
        icap: { listen: 127.0.0.1:%d }
        rules:
          protection:
            - { name: scan-all, action: block }
        """.formatted(admin, proxy, slow, icap, icapPort);
  }

  void commit(String icap) throws Exception {
    TestNodes.commit(daemon, config(icap), "icap " + icap);
  }

  void assertStillServes() throws Exception {
    Path got = dir.resolve("fast.bin");
    assertEquals("200", curl.status("http://127.0.0.1:" + fast + "/256k.bin", got));
    assertEquals(Host.sha256(www.resolve("256k.bin")), Host.sha256(got));
  }

  @Test
  void anOriginThatNeverAnswersGetsTheUserA504PageAtTheRequestTimeout() throws Exception {
    Path page = dir.resolve("silent.html");
    Run r = curl.run("-o", page.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + silent.getLocalPort() + "/");
    assertEquals("504", r.output().strip(), r.output());
    assertTrue(Files.readString(page).contains("took longer than this proxy allows"), Files.readString(page));
    assertStillServes();
  }

  @Test
  void aTricklingDownloadHeldForItsScanGetsA504PageAndTheIcapExchangeStops() throws Exception {
    // The scan needs the whole body, so our ICAP server has not answered when the time is up.
    Path page = dir.resolve("scan.html");
    Run r = curl.run("-o", page.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/1m.bin");
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
      Run r = curl.run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/1m.bin");
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
    Run r = curl.run("-p", "-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + slow + "/256k.bin");
    assertEquals("200", r.output().strip(), r.output());
    assertEquals(Host.sha256(www.resolve("256k.bin")), Host.sha256(got));
  }
}
