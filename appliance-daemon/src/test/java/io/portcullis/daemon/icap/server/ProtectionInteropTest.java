package io.portcullis.daemon.icap.server;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.scan.ClamdEngineTest;
import io.portcullis.testsupport.Clamd;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Eicar;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules and protection end to end: curl → real Squid 5 → real nginx, Squid asking our ICAP server, which asks the
 * built-in engine and a real clamd.
 */
class ProtectionInteropTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int admin;
  static Curl curl;
  static int origin;
  static Path www;

  @BeforeAll
  static void start() throws Exception {
    www = Files.createDirectories(dir.resolve("www"));
    Files.writeString(www.resolve("eicar.com"), Eicar.TEXT);
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(zip)) {
      z.putNextEntry(new ZipEntry("docs/readme.txt"));
      z.write("harmless".getBytes(StandardCharsets.US_ASCII));
      z.putNextEntry(new ZipEntry("tools/eicar.com"));
      z.write(Eicar.TEXT.getBytes(StandardCharsets.US_ASCII));
    }
    Files.write(www.resolve("eicar.zip"), zip.toByteArray());
    Host.randomFile(www.resolve("clean.bin"), 5 * 1024 * 1024, 11);
    byte[] exe = new byte[4096];
    exe[0] = 'M';
    exe[1] = 'Z';
    Files.write(www.resolve("notes.txt"), exe); // nginx serves it as text/plain; its first bytes say exe
    byte[] marked = new byte[200_000];
    new Random(12).nextBytes(marked);
    byte[] marker = ClamdEngineTest.MARKER.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(marker, 0, marked, 150_000, marker.length);
    Files.write(www.resolve("marked.bin"), marked);
    byte[] small = new byte[10_000];
    new Random(13).nextBytes(small);
    System.arraycopy(marker, 0, small, 5_000, marker.length);
    Files.write(www.resolve("marked-small.bin"), small);
    origin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, origin));

    int clamdPort = freePort();
    cleanup.add(Clamd.start(dir.resolve("clamd"), clamdPort, ClamdEngineTest.signatures()));

    Path conf = dir.resolve("conf");
    Files.createDirectories(conf);
    Files.writeString(conf.resolve("gambling.txt"), "# test category\ncasino.test\n");
    int icap = freePort();
    String text = """
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { listen: 127.0.0.1:%d }
        rules:
          categories: [ { name: gambling, file: gambling.txt } ]
          access:
            - { name: no-gambling, when: { categories: [gambling] }, action: block }
            - { name: no-exe, when: { fileTypes: [exe] }, action: block }
            - name: to-portal
              when: { hosts: [news.test] }
              action: redirect
              location: "https://portal.test/why?u=%%URL%%&r=%%RULE_NAME%%"
          protection:
            - { name: scan-all, action: block }
        scan:
          clamd: { enabled: true, address: 127.0.0.1:%d }
        """.formatted(admin = freePort(), icap, clamdPort);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), conf.resolve("portcullis.yaml"), text), Daemon::stop);
    int proxy = freePort();
    cleanup.add(Peers.squid(dir.resolve("squid"), proxy, icap));
    curl = Curl.in(dir).proxy(proxy);
  }

  /** Fetches {@code url} through Squid into a file; returns "STATUS" (with " URL" after a redirect). */
  String fetch(String url, Path to) throws Exception {
    Run r = curl.run("-o", to.toString(), "-w", "%{http_code} %{redirect_url}", url);
    return r.output().strip();
  }

  /** Fetches {@code url} through Squid; asserts that the answer is the block page (403), and returns it. */
  String blockPage(String url, String name) throws Exception {
    Path page = dir.resolve(name);
    assertEquals("403", fetch(url, page));
    return Files.readString(page);
  }

  @Test
  void eicarIsBlockedWithTheThreatNamed() throws Exception {
    String html = blockPage("http://127.0.0.1:" + origin + "/eicar.com", "eicar.html");
    assertTrue(html.contains("EICAR-Test-File"), html);
    assertTrue(html.contains("scan-all"), html);
    // Squid's RESPMOD is recorded by the ICAP server: Squid's client address, the threat, the rule, the true type.
    daemon.events().flushed();
    var events = daemon.events().query(new io.portcullis.daemon.events.EventFilter(null, null, null, null, null,
        null, "icap", "/eicar.com", null, null, null), 10);
    var blocked = events.stream().filter(e -> e.threat() != null).toList();
    assertEquals(1, blocked.size(), events.toString());
    var e = blocked.get(0);
    assertEquals(List.of("block", "protection", "scan-all", "127.0.0.1", "GET"),
        List.of(e.action(), e.ruleType(), e.rule(), e.clientIp(), e.method()), e.toString());
    assertTrue(e.threat().contains("EICAR-Test-File"), e.toString());
  }

  @Test
  void anUploadCarryingEicarIsBlockedBeforeItReachesTheOriginAndACleanOnePasses() throws Exception {
    // Squid sends the POST's body in REQMOD; protection scans it like a download.
    Run r = curl.run("-o", dir.resolve("upload.html").toString(), "-w", "%{http_code}", "--data-binary",
        "@" + www.resolve("eicar.com"), "http://127.0.0.1:" + origin + "/upload-eicar");
    assertEquals("403", r.output().strip());
    assertTrue(Files.readString(dir.resolve("upload.html")).contains("EICAR-Test-File"));
    Path small = Host.randomFile(dir.resolve("small-clean.bin"), 20_000, 21);
    Run clean = curl.run("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", "@" + small,
        "http://127.0.0.1:" + origin + "/upload-clean");
    assertEquals("404", clean.output().strip(), "nginx's own answer (no such file): the upload reached it");
    String access = Files.readString(dir.resolve("nginx").resolve("access.log"));
    assertTrue(access.contains("/upload-clean") && !access.contains("/upload-eicar"), access);
    daemon.events().flushed();
    var e = daemon.events().query(new io.portcullis.daemon.events.EventFilter(null, null, null, "block", null, null,
        "icap", "/upload-eicar", null, null, null), 10);
    assertEquals(1, e.size(), e.toString());
    assertEquals(List.of("POST", "protection", "scan-all"), List.of(e.get(0).method(), e.get(0).ruleType(),
        e.get(0).rule()));
  }

  @Test
  void aFileInsideAnUploadFormIsScannedFromItsFirstByte() throws Exception {
    // curl -F sends multipart/form-data: EICAR sits after a text field and the part's headers, where the built-in
    // check (which wants the file at its start) sees it only part by part.
    Run r = curl.run("-o", dir.resolve("form.html").toString(), "-w", "%{http_code}", "-F", "comment=see attached",
        "-F", "file=@" + www.resolve("eicar.com"), "http://127.0.0.1:" + origin + "/form-eicar");
    assertEquals("403", r.output().strip());
    assertTrue(Files.readString(dir.resolve("form.html")).contains("EICAR-Test-File"));
    Run clean = curl.run("-o", "/dev/null", "-w", "%{http_code}", "-F", "comment=fine", "-F",
        "file=@" + www.resolve("notes.txt"),
        "http://127.0.0.1:" + origin + "/form-clean");
    assertEquals("404", clean.output().strip(), "nginx's own answer: the clean form reached it");
    String access = Files.readString(dir.resolve("nginx").resolve("access.log"));
    assertTrue(access.contains("/form-clean") && !access.contains("/form-eicar"), access);
  }

  @Test
  void readinessSeesClamdAnswer() throws Exception {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + admin + "/health/ready"))
            .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("\"id\":\"scan\",\"status\":\"UP\""), r.body());
  }

  @Test
  void eicarInsideAZipIsBlocked() throws Exception {
    assertTrue(blockPage("http://127.0.0.1:" + origin + "/eicar.zip", "zip.html").contains("EICAR-Test-File"));
  }

  @Test
  void aFileMatchingTheClamdSignatureIsBlockedWithClamdsThreatName() throws Exception {
    String html = blockPage("http://127.0.0.1:" + origin + "/marked-small.bin", "marked.html");
    assertTrue(html.contains("Portcullis.Test.Marker.UNOFFICIAL"), html);
  }

  @Test
  void aLargeInfectedFileIsCutOffWithNoMoreThanAByteOfItPerSixteenKib() throws Exception {
    // Squid offers no 204 for a body this large and sends no more than 64 KiB of it until the answer starts, then
    // keeps reading the origin only while the answer moves: the head goes out early and one byte per 16 KiB
    // received; clamd's threat then cuts the answer off (the file starts with random bytes: 12 of them reach curl).
    Path got = dir.resolve("marked.got");
    String out = fetch("http://127.0.0.1:" + origin + "/marked.bin", got);
    assertTrue(out.contains("curl: (18) transfer closed with"), out);
    long size = Files.exists(got) ? Files.size(got) : 0;
    assertTrue(size <= 200_000 / IcapTransaction.KICK_EVERY, "the user got " + size + " bytes of the infected file");
  }

  @Test
  void aCleanFiveMibBinaryPassesScannedAndIntact() throws Exception {
    Path got = dir.resolve("clean.got");
    assertEquals("200", fetch("http://127.0.0.1:" + origin + "/clean.bin", got));
    assertEquals(Host.sha256(www.resolve("clean.bin")), Host.sha256(got));
  }

  @Test
  void aCategoryRuleBlocks() throws Exception {
    String html = blockPage("http://www.casino.test/", "casino.html");
    assertTrue(html.contains("no-gambling") && html.contains("gambling"), html);
  }

  @Test
  void anExeServedAsTextPlainIsBlockedByItsTrueType() throws Exception {
    assertTrue(blockPage("http://127.0.0.1:" + origin + "/notes.txt", "exe.html").contains("no-exe"));
  }

  @Test
  void redirectCarriesItsMacrosUrlEncoded() throws Exception {
    String out = fetch("http://news.test/today?a=1", dir.resolve("redirect.out"));
    assertEquals("302 https://portal.test/why?u=http%3A%2F%2Fnews.test%2Ftoday%3Fa%3D1&r=to-portal", out);
  }

  @Test
  void squidReportsNoIcapErrors() throws Exception {
    fetch("http://127.0.0.1:" + origin + "/eicar.com", dir.resolve("x.html"));
    String log = Peers.read(dir.resolve("squid/cache.log")).toLowerCase();
    assertFalse(log.contains("essential icap service is down"), log);
    assertFalse(log.contains("icap") && log.contains("failure"), log);
  }
}
