package io.portcullis.daemon.icap.server;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static io.portcullis.testsupport.Peers.require;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Our ICAP server behind a real Squid 5 in front of a real nginx, driven by curl; and c-icap-client against it. */
class IcapInteropTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Curl curl;
  static int icap;
  static int origin;
  static Path www;

  @BeforeAll
  static void start() throws Exception {
    icap = freePort();
    String text = "admin: { listen: 127.0.0.1:" + freePort() + " }\nproxy: { enabled: false }\n"
        + "icap: { listen: 127.0.0.1:" + icap + " }\n" + IcapServerTest.RULES;
    cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
    www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("1k.bin"), 1024, 7);
    Host.randomFile(www.resolve("5m.bin"), 5 * 1024 * 1024, 8);
    origin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin));
    int proxy = freePort();
    cleanup.add(Peers.squid(dir.resolve("squid"), proxy, icap));
    curl = Curl.in(dir).proxy(proxy);
  }

  @Test
  void allowedFilesArriveThroughSquidByteForByte() throws Exception {
    for (String name : List.of("1k.bin", "5m.bin")) {
      Path got = dir.resolve("got-" + name);
      Run r = curl.run("-o", got.toString(), "-w", "%{http_code}", "http://127.0.0.1:" + origin + "/" + name);
      assertEquals("200", r.output().strip(), r.output());
      assertEquals(Host.sha256(www.resolve(name)), Host.sha256(got), name + " changed on the way");
    }
    assertNoIcapErrorsInCacheLog();
  }

  @Test
  void blockedHostGetsOurBlockPageThroughSquid() throws Exception {
    Path page = dir.resolve("blocked.html");
    Run r = curl.run("-o", page.toString(), "-w", "%{http_code}", "http://www.example.test/<b>?q=\"x\"");
    assertEquals("403", r.output().strip(), r.output());
    String html = Files.readString(page);
    assertTrue(html.contains("Access to this page is denied"), html);
    assertTrue(html.contains("no-example"), html);
    assertTrue(html.contains("127.0.0.1"), "Squid's X-Client-IP reaches the page: " + html);
    assertFalse(html.contains("<b>"), html);
    assertNoIcapErrorsInCacheLog();
  }

  @Test
  void redirectRuleGives302ThroughSquid() throws Exception {
    Run r = curl.run("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://news.test/today");
    assertEquals("302 https://portal.test/why", r.output().strip(), r.output());
    assertNoIcapErrorsInCacheLog();
  }

  @Test
  void postBodiesPassThroughSquidAndOurReqmod() throws Exception {
    Path body = Host.randomFile(dir.resolve("post.bin"), 300_000, 3);
    // nginx answers 405 to POST on a static file: what matters is that Squid sent it on after REQMOD.
    Run r = curl.run("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + body,
        "http://127.0.0.1:" + origin + "/1k.bin");
    assertEquals("405", r.output().strip(), r.output());
    assertTrue(Peers.read(dir.resolve("nginx/access.log")).contains("\"POST /1k.bin HTTP/1.1\" 405"));
    assertNoIcapErrorsInCacheLog();
  }

  void assertNoIcapErrorsInCacheLog() {
    String log = Peers.read(dir.resolve("squid/cache.log"));
    for (String line : log.split("\n")) {
      String l = line.toLowerCase();
      assertFalse(l.contains("icap") && (l.contains("error") || l.contains("fail") || l.contains("down")
          || l.contains("suspend")), "Squid's cache.log: " + line);
    }
  }

  // ---- c-icap-client -------------------------------------------------------------------------------------------------

  Run cIcapClient(String... args) throws Exception {
    String[] cmd = new String[args.length + 5];
    cmd[0] = require("c-icap-client", "c-icap");
    cmd[1] = "-i";
    cmd[2] = "127.0.0.1";
    cmd[3] = "-p";
    cmd[4] = Integer.toString(icap);
    System.arraycopy(args, 0, cmd, 5, args.length);
    return runIn(dir, cmd);
  }

  @Test
  void cIcapClientReadsOurOptions() throws Exception {
    Run r = cIcapClient("-s", "av/reqmod", "-v");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("ICAP/1.0 200 OK"), r.output());
    assertTrue(r.output().contains("Preview: 4096"), r.output());
    assertTrue(r.output().contains("Allow 204: Yes"), r.output());
    Run resp = cIcapClient("-s", "av/respmod", "-v");
    assertTrue(resp.output().contains("Methods: RESPMOD"), resp.output());
  }

  @Test
  void cIcapClientReqmodIsBlockedOrPassed() throws Exception {
    Run blocked = cIcapClient("-s", "av/reqmod", "-req", "http://www.example.test/x", "-v");
    assertEquals(0, blocked.exit(), blocked.output());
    assertTrue(blocked.output().contains("HTTP/1.1 403 Forbidden"), blocked.output());
    assertTrue(blocked.output().contains("Access to this page is denied"), blocked.output());
    Run passed = cIcapClient("-s", "av/reqmod", "-req", "http://ok.test/x", "-v");
    assertEquals(0, passed.exit(), passed.output());
    assertTrue(passed.output().contains("ICAP/1.0 204"), passed.output());
    Run redirected = cIcapClient("-s", "av/reqmod", "-req", "http://news.test/", "-v");
    assertTrue(redirected.output().contains("Location: https://portal.test/why"), redirected.output());
  }

  @Test
  void cIcapClientRespmodWithAndWithoutPreview() throws Exception {
    Path file = Host.randomFile(dir.resolve("body.bin"), 200_000, 5);
    Run preview = cIcapClient("-s", "av/respmod", "-f", file.toString(), "-v");
    assertEquals(0, preview.exit(), preview.output());
    assertTrue(preview.output().contains("ICAP/1.0 204"), preview.output());
    Path out = dir.resolve("echoed.bin");
    Run whole = cIcapClient("-s", "av/respmod", "-f", file.toString(), "-nopreview", "-no204",
        "-o", out.toString(), "-v");
    assertEquals(0, whole.exit(), whole.output());
    assertTrue(whole.output().contains("ICAP/1.0 200 OK"), whole.output());
    assertEquals(Host.sha256(file), Host.sha256(out), "c-icap-client got back a different body");
    Path out2 = dir.resolve("echoed2.bin");
    Run previewNo204 = cIcapClient("-s", "av/respmod", "-f", file.toString(), "-no204", "-w", "1024",
        "-o", out2.toString(), "-v");
    assertEquals(0, previewNo204.exit(), previewNo204.output());
    assertTrue(previewNo204.output().contains("ICAP/1.0 204"), "204 after a preview: " + previewNo204.output());
  }
}
