package io.portcullis.daemon.icap.server;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.icap.codec.MalformedIcap;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The ICAP server in a real daemon, driven byte by byte over loopback. */
class IcapServerTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int icap;

  static final String RULES = """
      rules:
        access:
          - name: no-example
            when: { hosts: ["*.example.test"] }
            action: block
          - name: to-portal
            when: { hosts: [news.test] }
            action: redirect
            location: https://portal.test/why
      """;

  @BeforeAll
  static void start() throws Exception {
    icap = freePort();
    String text = "admin: { listen: 127.0.0.1:" + freePort() + " }\nproxy: { enabled: false }\n"
        + "icap: { listen: 127.0.0.1:" + icap + ", maxConnections: 20 }\n" + RULES;
    // The config's directory is the test's, where the templates and hash lists it commits are.
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
  }

  static byte[] capture(String name) throws IOException {
    try (InputStream in = IcapServerTest.class.getResourceAsStream("/icap-captures/" + name)) {
      return in.readAllBytes();
    }
  }

  static String reqmod(String url, String host, String allow) {
    String http = "GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: test\r\n\r\n";
    return "REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\nX-Client-IP: 10.1.2.3\r\n"
        + (allow == null ? "" : "Allow: " + allow + "\r\n")
        + "Encapsulated: req-hdr=0, null-body=" + http.length() + "\r\n\r\n" + http;
  }

  static String respmod(byte[] body, String extra, boolean preview) {
    return respmod(body.length, extra);
  }

  /** A RESPMOD head (no body yet) for a response of {@code length} bytes. */
  static String respmod(long length, String extra) {
    String req = "GET http://a.test/f HTTP/1.1\r\nHost: a.test\r\n\r\n";
    String res = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + length
        + "\r\n\r\n";
    return "RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n" + extra
        + "Encapsulated: req-hdr=0, res-hdr=" + req.length() + ", res-body=" + (req.length() + res.length())
        + "\r\n\r\n" + req + res;
  }

  @Test
  void optionsAdvertisesTheServiceAsSquidReadsIt() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      IcapTestClient.Answer a = c.read();
      assertEquals(200, a.head().status());
      assertEquals("REQMOD", a.head().headers().get("Methods"));
      assertEquals("portcullis-reqmod", a.head().headers().get("ServiceId"));
      assertEquals("4096", a.head().headers().get("Preview"));
      assertEquals("*", a.head().headers().get("Transfer-Preview"));
      assertEquals("204", a.head().headers().get("Allow"));
      assertEquals("20", a.head().headers().get("Max-Connections"));
      assertEquals("3600", a.head().headers().get("Options-TTL"));
      assertTrue(a.head().headers().get("ISTag").matches("\"PC-[0-9a-f]{24}\""));
      c.send("OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      assertEquals("RESPMOD", c.read().head().headers().get("Methods"));
    }
  }

  @Test
  void unknownServiceIs404AndWrongMethodIs405OnAConnectionThatStaysOpen() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send("OPTIONS icap://127.0.0.1/nope ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
      assertEquals(404, c.read().head().status());
      c.send(reqmod("http://a.test/", "a.test", "204").replace("/av/reqmod", "/av/respmod"));
      assertEquals(405, c.read().head().status());
      c.send(reqmod("http://a.test/", "a.test", "204"));
      assertEquals(204, c.read().head().status());
    }
  }

  @Test
  void blockedHostGetsTheEscapedBlockPage() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://www.example.test/<script>alert(1)</script>", "www.example.test", "204"));
      IcapTestClient.Answer a = c.read();
      assertEquals(200, a.head().status());
      assertEquals(BodyKind.RES_BODY, a.head().body());
      assertNull(a.head().httpRequest());
      assertEquals(403, a.head().httpResponse().status());
      assertEquals("no-example", a.head().httpResponse().headers().get("X-Portcullis-Rule"));
      String page = a.bodyText();
      assertEquals(Integer.parseInt(a.head().httpResponse().headers().get("Content-Length")),
          a.body().length);
      assertTrue(page.contains("no-example"), page);
      assertTrue(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), page);
      assertFalse(page.contains("<script>"), page);
      assertTrue(page.contains("10.1.2.3"), page);
    }
  }

  @Test
  void theDomainItselfAndSubdomainsMatchStarDotDomainButNotLookalikes() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://example.test/", "example.test", "204"));
      assertEquals(403, c.read().head().httpResponse().status());
      c.send(reqmod("http://a.b.EXAMPLE.test:8080/", "a.b.example.test", "204"));
      assertEquals(403, c.read().head().httpResponse().status());
      c.send(reqmod("http://notexample.test/", "notexample.test", "204"));
      assertEquals(204, c.read().head().status());
      c.send(reqmod("/origin-form", "www.example.test", "204"));
      assertEquals(403, c.read().head().httpResponse().status(), "Host is used for an origin-form target");
    }
  }

  @Test
  void redirectRuleAnswers302WithItsLocation() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://news.test/today", "news.test", null));
      IcapTestClient.Answer a = c.read();
      assertEquals(302, a.head().httpResponse().status());
      assertEquals("https://portal.test/why", a.head().httpResponse().headers().get("Location"));
      assertEquals(BodyKind.NULL_BODY, a.head().body());
    }
  }

  @Test
  void allowedRequestWithoutAllow204IsEchoedWhole() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://ok.test/x", "ok.test", null));
      IcapTestClient.Answer a = c.read();
      assertEquals(200, a.head().status());
      assertEquals("GET http://ok.test/x HTTP/1.1", a.head().httpRequest().startLine());
      assertEquals("ok.test", a.head().httpRequest().headers().get("Host"));
      assertEquals(BodyKind.NULL_BODY, a.head().body());
    }
  }

  @Test
  void squidRespmodCapturesGet204AndTheConnectionCarriesOn() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      // 1 KiB: whole body in the preview with ieof.
      c.send(new String(capture("04-RESPMOD-echo-get-1k.bin.request.txt"), StandardCharsets.ISO_8859_1)
          .replace("/echo", "/av/respmod"));
      assertEquals(204, c.read().head().status());
      // 1 MiB: preview without ieof and no Allow: 204 -> 204 after the preview; Squid then sends nothing more.
      byte[] big = capture("10-RESPMOD-echo-get-1m.bin.request.txt");
      c.send(new String(big, StandardCharsets.ISO_8859_1).replace("/echo", "/av/respmod"));
      assertEquals(204, c.read().head().status());
      c.send(new String(capture("02-REQMOD-echo-get-1k.bin.request.txt"), StandardCharsets.ISO_8859_1)
          .replace("/echo", "/av/reqmod"));
      assertEquals(204, c.read().head().status());
    }
  }

  @Test
  void respmodWithoutPreviewOrAllow204IsEchoedByteForByte() throws Exception {
    byte[] body = new byte[3 * 1024 * 1024 + 17];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) (i * 31 + (i >> 9));
    }
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(respmod(body, "", false));
      for (int off = 0; off < body.length; off += 40000) {
        int n = Math.min(40000, body.length - off);
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(body, off, off + n)));
      }
      c.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
      IcapTestClient.Answer a = c.read();
      assertEquals(200, a.head().status());
      assertEquals(200, a.head().httpResponse().status());
      assertTrue(Arrays.equals(body, a.body()), "echoed body differs");
    }
  }

  @Test
  void aPreviewLongerThanTheEarlyHeadGets100ContinueBeforeAnyAnswer() throws Exception {
    // A client may send a preview longer than we advertise; the early head of a scanned answer must not start a 200 inside it,
    // or the "100 Continue" would land in the middle of that 200's body.
    byte[] body = new byte[2 * IcapTransaction.EARLY_HEAD + 4000];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) ('a' + i % 26);
    }
    int preview = IcapTransaction.EARLY_HEAD + 2000;
    String req = "GET http://scan.test/f HTTP/1.1\r\nHost: scan.test\r\n\r\n";
    String res = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n";
    String before = daemon.commits().active().text();
    TestNodes.commit(daemon, before + "  protection:\n    - { name: scan-all, when: { hosts: [scan.test] },"
        + " action: block }\n", "scan scan.test");
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send("RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\nPreview: " + preview + "\r\n"
          + "Encapsulated: req-hdr=0, res-hdr=" + req.length() + ", res-body=" + (req.length() + res.length())
          + "\r\n\r\n" + req + res);
      c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(body, 0, preview)));
      c.send("0\r\n\r\n");
      assertEquals(100, c.read().head().status());
      c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(body, preview, body.length)));
      c.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
      IcapTestClient.Answer a = c.read();
      assertEquals(200, a.head().status());
      assertTrue(Arrays.equals(body, a.body()), "the scanned body comes back whole");
      c.send(reqmod("http://ok.test/", "ok.test", "204"));
      assertEquals(204, c.read().head().status());
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://a.example.test/", "a.example.test", "204")
          + "OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\n\r\n"
          + reqmod("http://ok.test/", "ok.test", "204")
          + reqmod("http://news.test/", "news.test", "204"));
      assertEquals(403, c.read().head().httpResponse().status());
      assertEquals("REQMOD", c.read().head().headers().get("Methods"));
      assertEquals(204, c.read().head().status());
      assertEquals(302, c.read().head().httpResponse().status());
    }
  }

  @Test
  void everyMalformedMessageGets400AndACloseAndTheServerServesTheNextClient() throws Exception {
    for (Map.Entry<String, String> e : MalformedIcap.cases().entrySet()) {
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(e.getValue());
        IcapTestClient.Answer a;
        try {
          a = c.read();
        } catch (IOException ex) {
          throw new AssertionError(e.getKey() + ": " + ex.getMessage(), ex);
        }
        assertEquals(400, a.head().status(), e.getKey());
        assertTrue(c.closedByServer(), e.getKey() + ": connection left open");
      }
    }
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send(reqmod("http://ok.test/", "ok.test", "204"));
      assertEquals(204, c.read().head().status());
    }
  }

  @Test
  void aBadChunkInTheMiddleOfAnEchoCutsTheAnswerShort() throws Exception {
    // Once a 200 echo is streaming, a 400 can no longer be framed: the client must see an answer that never ends.
    try (IcapTestClient c = new IcapTestClient(icap)) {
      // 2000 bytes: more than the server needs to decide (it sniffs 512), so its 200 is already on the way.
      c.send(respmod(new byte[2000], "", false) + "7d0\r\n" + "x".repeat(2000) + "\r\nzz\r\n");
      IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, c::read);
      assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }
  }

  @Test
  void connectionsBeyondMaxConnectionsGet503() throws Exception {
    IcapTestClient[] open = new IcapTestClient[20];
    try {
      for (int i = 0; i < open.length; i++) {
        open[i] = new IcapTestClient(icap);
        open[i].send("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\n\r\n");
        open[i].read();
      }
      try (IcapTestClient extra = new IcapTestClient(icap)) {
        assertEquals(503, extra.read().head().status());
      }
    } finally {
      for (IcapTestClient c : open) {
        if (c != null) {
          c.close();
        }
      }
    }
    // The server sees the closes when its event loops get to them: served again once it has.
    Host.waitUntil("an OPTIONS served again after the 20 connections closed", () -> {
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\n\r\n");
        return c.read().head().status() == 200;
      }
    });
  }

  @Test
  void istagChangesWhenACommitChangesTheConfig() throws Exception {
    String before;
    try (IcapTestClient c = new IcapTestClient(icap)) {
      c.send("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\n\r\n");
      before = c.read().head().headers().get("ISTag");
      String text = daemon.commits().active().text() + "    - { name: news2, when: { hosts: [news2.test] },"
          + " action: redirect, location: \"https://portal.test/2\" }\n";
      TestNodes.commit(daemon, text, "istag");
      // Same connection: the next message sees the new config.
      c.send("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\n\r\n");
      assertNotEquals(before, c.read().head().headers().get("ISTag"));
      c.send(reqmod("http://news2.test/", "news2.test", "204"));
      assertEquals(302, c.read().head().httpResponse().status());
      c.send(reqmod("http://news3.test/", "news3.test", "204"));
      assertEquals(204, c.read().head().status());
    }
  }

  @Test
  void protectionUsesTheRulesTemplateAndItsOnErrorChoice() throws Exception {
    java.nio.file.Path template = dir.resolve("threat.html");
    java.nio.file.Files.writeString(template, "<h1>Stopped: %THREAT% by %RULE_NAME% for %URL%</h1> %UNKNOWN%");
    java.nio.file.Path hashes = dir.resolve("bad.sha256");
    byte[] bad = "known bad bytes".getBytes(StandardCharsets.US_ASCII);
    java.nio.file.Files.writeString(hashes, java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(bad)) + " Test.Known.Bad\n");
    String before = daemon.commits().active().text();
    int deadClamd = freePort();
    String text = before + """
          protection:
            - { name: strict, when: { hosts: [strict.test] }, action: block, template: "%s" }
            - { name: lenient, when: { hosts: [lenient.test] }, action: block, onError: allow }
        scan:
          hashLists: ["%s"]
          clamd: { enabled: true, address: "127.0.0.1:%d", connectTimeout: 500ms }
        """.formatted(template, hashes, deadClamd);
    TestNodes.commit(daemon, text, "protection");
    try (IcapTestClient c = new IcapTestClient(icap)) {
      // The built-in engine finds the hash before clamd is asked: the rule's own template names it.
      c.send(respmodFor("http://strict.test/f", bad, "Allow: 204\r\n"));
      IcapTestClient.Answer a = c.read();
      assertEquals(403, a.head().httpResponse().status());
      assertTrue(a.bodyText().startsWith("<h1>Stopped: Test.Known.Bad by strict for http://strict.test/f</h1>"),
          a.bodyText());
      assertTrue(a.bodyText().contains("%UNKNOWN%"), "unknown macros stay as written");
      // A clean body: clamd cannot be reached; strict blocks, lenient lets it pass.
      byte[] clean = "clean bytes".getBytes(StandardCharsets.US_ASCII);
      c.send(respmodFor("http://strict.test/g", clean, "Allow: 204\r\n"));
      assertEquals(403, c.read().head().httpResponse().status());
      c.send(respmodFor("http://lenient.test/g", clean, "Allow: 204\r\n"));
      assertEquals(204, c.read().head().status());
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }

  @Test
  void aLargeScannedBodyWithoutAllow204GetsItsHeadEarlyAndOneByteInSixteenKibUntilTheScanEnds() throws Exception {
    // Squid offers no 204 for a body over 64 KiB, sends no more of it until the answer starts, and keeps reading the
    // origin only while the answer moves: the head goes out early, then one body byte per 16 KiB received, and the
    // rest once the scan is done; a threat cuts the answer off.
    byte[] bad = new byte[4 * IcapTransaction.EARLY_HEAD];
    new java.util.Random(21).nextBytes(bad);
    byte[] clean = bad.clone();
    clean[clean.length - 1] ^= 1; // differs in its last byte only: the whole body must be scanned
    java.nio.file.Path hashes = dir.resolve("large-bad.sha256");
    java.nio.file.Files.writeString(hashes, java.util.HexFormat.of().formatHex(
        java.security.MessageDigest.getInstance("SHA-256").digest(bad)) + " Test.Large.Bad\n");
    String before = daemon.commits().active().text();
    TestNodes.commit(daemon, before + """
          protection:
            - { name: scan-large, when: { hosts: [large.test] }, action: block }
        scan:
          hashLists: ["%s"]
        """.formatted(hashes), "hash list");
    try {
      int half = bad.length / 2;
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(respmodHead("http://large.test/clean.bin", clean.length));
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(clean, 0, half)));
        IcapResponse head = c.readHead();
        assertEquals(200, head.status());
        assertEquals(200, head.httpResponse().status(), "the origin's own head, before the body is all in");
        assertTrue(c.bodyBytes <= half / IcapTransaction.KICK_EVERY, c.bodyBytes + " body bytes before the scan");
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(clean, half, clean.length)));
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
        assertTrue(Arrays.equals(clean, c.read().body()), "a clean body follows whole once scanned");
      }
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(respmodHead("http://large.test/bad.bin", bad.length));
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(bad, 0, half)));
        assertEquals(200, c.readHead().httpResponse().status());
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(bad, half, bad.length)));
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
        assertTrue(c.closedByServer(), "the answer is cut off");
        assertTrue(c.bodyBytes <= bad.length / IcapTransaction.KICK_EVERY, c.bodyBytes + " bytes of the infected body");
      }
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }

  @Test
  void aBodyOverTheScanLimitPassesUnscannedOrIsBlockedAsScanOverMaxSizeSays() throws Exception {
    byte[] big = new byte[3000];
    Arrays.fill(big, (byte) 'x');
    String before = daemon.commits().active().text();
    String rule = "  protection:\n    - { name: scan-big, when: { hosts: [big.test] }, action: block }\n";
    try {
      TestNodes.commit(daemon, before + rule + "scan: { maxSize: 2KiB }\n", "limit");
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(respmodFor("http://big.test/f", big, "Allow: 204\r\n"));
        assertEquals(204, c.read().head().status(), "bypass, the default: unscanned, unchanged");
      }
      TestNodes.commit(daemon, before + rule + "scan: { maxSize: 2KiB, overMaxSize: block }\n", "limit blocks");
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(respmodFor("http://big.test/f", big, "Allow: 204\r\n"));
        IcapTestClient.Answer a = c.read();
        assertEquals(403, a.head().httpResponse().status(), "known too large by its Content-Length");
        assertTrue(a.bodyText().contains("larger than the scan limit (2048 bytes)"), a.bodyText());
        // No Content-Length: found too large as it comes, with a preview first.
        String req = "GET http://big.test/g HTTP/1.1\r\nHost: big.test\r\n\r\n";
        String res = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        c.send("RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\nPreview: 1024\r\n"
            + "Encapsulated: req-hdr=0, res-hdr=" + req.length() + ", res-body=" + (req.length() + res.length())
            + "\r\n\r\n" + req + res);
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(big, 0, 1024)));
        c.send("0\r\n\r\n");
        assertEquals(100, c.read().head().status());
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(Arrays.copyOfRange(big, 1024, big.length)));
        c.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
        assertEquals(403, c.read().head().httpResponse().status(), "found too large as it came");
        c.send(reqmod("http://ok.test/", "ok.test", "204"));
        assertEquals(204, c.read().head().status(), "the connection goes on");
      }
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }

  @Test
  void bodiesHeldToScanAreBoundedForTheWholeServerByMaxBufferedBytes() throws Exception {
    byte[] body = new byte[40_000];
    Arrays.fill(body, (byte) 'h');
    String before = daemon.commits().active().text();
    String bounded = before.replace("maxConnections: 20 }", "maxConnections: 20, maxBufferedBytes: 64KiB }");
    assertNotEquals(before, bounded);
    TestNodes.commit(daemon, bounded
        + "  protection:\n    - { name: scan-held, when: { hosts: [held.test] }, action: block }\n", "bounded");
    try {
      try (IcapTestClient held = new IcapTestClient(icap)) {
        held.send(respmodHead("http://held.test/a", body.length));
        held.send(io.portcullis.daemon.icap.codec.IcapEncoder.chunk(body));
        // The early head says all 40 000 bytes are in and held for the scan (see IcapTransaction.headEarly).
        assertEquals(200, held.readHead().httpResponse().status());
        try (IcapTestClient c = new IcapTestClient(icap)) {
          c.send(respmodFor("http://held.test/b", body, "Allow: 204\r\n"));
          IcapTestClient.Answer a = c.read();
          assertEquals(403, a.head().httpResponse().status(), "80 000 bytes would pass 64 KiB: not scanned, and "
              + "the rule's onError (block) decides");
          assertTrue(a.bodyText().contains("could not be checked"), a.bodyText());
        }
        held.send(io.portcullis.daemon.icap.codec.IcapEncoder.LAST_CHUNK);
        assertTrue(Arrays.equals(body, held.read().body()), "the body held first is scanned and passes whole");
      }
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.send(respmodFor("http://held.test/c", body, "Allow: 204\r\n"));
        assertEquals(204, c.read().head().status(), "the first body's bytes were given back: this one is scanned");
      }
    } finally {
      TestNodes.commit(daemon, before, "restore");
    }
  }

  /** A RESPMOD's head for {@code url} announcing a body of {@code length} bytes, without Allow: 204 or preview. */
  static String respmodHead(String url, int length) {
    String host = url.replaceAll("^http://([^/]+).*$", "$1");
    String req = "GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    String res = "HTTP/1.1 200 OK\r\nContent-Length: " + length + "\r\n\r\n";
    return "RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
        + "Encapsulated: req-hdr=0, res-hdr=" + req.length() + ", res-body=" + (req.length() + res.length())
        + "\r\n\r\n" + req + res;
  }

  /** A RESPMOD for {@code url} carrying {@code body} whole. */
  static String respmodFor(String url, byte[] body, String extra) {
    String host = url.replaceAll("^http://([^/]+).*$", "$1");
    String req = "GET " + url + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
    String res = "HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\n\r\n";
    return "RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\n" + extra
        + "Encapsulated: req-hdr=0, res-hdr=" + req.length() + ", res-body=" + (req.length() + res.length())
        + "\r\n\r\n" + req + res + Integer.toHexString(body.length) + "\r\n"
        + new String(body, StandardCharsets.ISO_8859_1) + "\r\n0\r\n\r\n";
  }
}
