package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * rules.tls and the peek at the start of every CONNECT tunnel, against a real nginx serving TLS and plain HTTP, with
 * real curl and openssl s_client as clients: a tunnel passes byte for byte; a blocked server name, sent as the SNI
 * behind an allowed CONNECT host, is closed before any byte reaches the origin; a blocked CONNECT host gets 403;
 * non-TLS bytes and Encrypted ClientHello are closed by default and tunnelled when the config says so.
 */
class TlsRulesProxyTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int proxy;
  static int tls;
  static int plain;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    Peers.selfSigned(dir, "origin", "localhost", "blocked.test");
    Path www = Files.createDirectories(dir.resolve("www"));
    Files.writeString(www.resolve("page.txt"), "a page over TLS\n");
    tls = freePort();
    plain = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, plain,
        Peers.tlsServer(tls, dir.resolve("origin.crt"), dir.resolve("origin.key"), www)));
    proxy = freePort();
    base = TestNodes.config(freePort(), proxy, freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], connectPorts: [443, " + tls + ", " + plain + "], accessLog: access.log }")
        + "rules:\n  tls:\n    - { name: no-blocked, when: { hosts: [blocked.test] }, action: block }\n";
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), base), Daemon::stop);
  }

  /** What nginx logged so far: one line per request that reached it. */
  static String originLog() throws IOException {
    Path log = dir.resolve("nginx/access.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  /**
   * A CONNECT to {@code authority}, then {@code first} once the 200 is in; what came back, to the close or, once
   * {@code enough} bytes came after the 200's head, to there (the origin then waits for more, as a TLS server does).
   */
  static String tunnel(String authority, byte[] first, int enough) throws IOException {
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      int headEnd = -1;
      for (int c; ; ) {
        if (headEnd < 0 && got.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          headEnd = got.size();
          if (!got.toString(StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 200")) {
            enough = Integer.MAX_VALUE;
          } else {
            s.getOutputStream().write(first);
          }
        }
        if (headEnd >= 0 && got.size() - headEnd >= enough) {
          break;
        }
        if ((c = in.read()) < 0) {
          break;
        }
        got.write(c);
      }
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void aTlsTunnelPassesAndABlockedServerNameBehindAnAllowedHostIsClosed() throws Exception {
    Path got = dir.resolve("got.txt");
    assertEquals("200", Curl.in(dir).proxy(proxy).maxTime(20).with("--cacert", dir.resolve("origin.crt").toString())
        .status("https://localhost:" + tls + "/page.txt", got), "a tunnel: the origin's own certificate, verified");
    assertEquals("a page over TLS\n", Files.readString(got));

    // openssl s_client through the proxy: CONNECT localhost, but the SNI says blocked.test (domain fronting).
    int before = originLog().split("\n", -1).length;
    Path nothing = Files.writeString(dir.resolve("empty.txt"), "");
    Run fronted = Host.runWithInput(nothing, "timeout", "30", "openssl", "s_client", "-proxy", "127.0.0.1:" + proxy,
        "-connect", "localhost:" + tls, "-servername", "blocked.test", "-CAfile", dir.resolve("origin.crt").toString());
    assertTrue(fronted.output().contains("no peer certificate available")
        && !fronted.output().contains("BEGIN CERTIFICATE"), "closed before any ServerHello: " + fronted.output());
    Run allowed = Host.runWithInput(nothing, "timeout", "30", "openssl", "s_client", "-proxy", "127.0.0.1:" + proxy,
        "-connect", "localhost:" + tls, "-servername", "localhost", "-CAfile", dir.resolve("origin.crt").toString());
    assertTrue(allowed.output().contains("BEGIN CERTIFICATE") && allowed.output().contains("Verify return code: 0 (ok)"),
        "the same without the blocked name: " + allowed.output());
    assertEquals(before, originLog().split("\n", -1).length, "no request reached the origin: " + originLog());
    Host.waitUntil("the access log's line for the refused tunnel",
        () -> Files.exists(dir.resolve("access.log")) && Files.readString(dir.resolve("access.log"))
            .contains("TCP_DENIED/200"));
    // Counted as the rule's hit, as the other rule types' are (show rules).
    Host.waitUntil("the refusal counted for no-blocked", () -> daemon.rules().getJsonArray("rules").stream()
        .map(o -> (io.vertx.core.json.JsonObject) o).anyMatch(o -> o.getString("type").equals("tls")
            && o.getString("name").equals("no-blocked") && o.getLong("hits") >= 1));
  }

  @Test
  void aTlsRuleOnAGroupClosesTheTunnelForItsMembersOnly() throws Exception {
    String carol = Host.runIn(dir, "openssl", "passwd", "-6", "carol-pw").output().strip();
    String dave = Host.runIn(dir, "openssl", "passwd", "-6", "dave-pw").output().strip();
    String withAuth = base.replace("accessLog: access.log }", "accessLog: access.log, auth: { enabled: true, users: ["
        + "{ name: carol, password: '" + carol + "', groups: [contractors] }, { name: dave, password: '" + dave
        + "' }] } }") + "    - { name: no-contractors, when: { groups: [contractors] }, action: block }\n";
    TestNodes.commit(daemon, withAuth, "a tls rule on a group");
    try {
      Curl curl = Curl.in(dir).proxy(proxy).maxTime(20).with("--cacert", dir.resolve("origin.crt").toString());
      assertEquals("200", curl.with("--proxy-user", "dave:dave-pw").status("https://localhost:" + tls + "/page.txt",
          dir.resolve("dave.txt")), "not in the group: tunnelled");
      String carolGot = Curl.in(dir).hideErrors().proxy(proxy).maxTime(20).with("--cacert", dir.resolve("origin.crt").toString())
          .with("--proxy-user", "carol:carol-pw").status("https://localhost:" + tls + "/page.txt?carol-tunnel",
              dir.resolve("carol.txt"));
      assertEquals("000", carolGot, "a contractor's tunnel is closed at the ClientHello");
      Host.waitUntil("the access log names carol's closed tunnel", () -> Files.readString(dir.resolve("access.log"))
          .lines().anyMatch(l -> l.contains(" carol ") && l.contains("CONNECT localhost:" + tls)));
      assertFalse(originLog().contains("carol-tunnel"), "nothing of carol's reached the origin");
    } finally {
      TestNodes.commit(daemon, base, "back");
    }
  }

  @Test
  void aBlockedConnectHostIsAnsweredBeforeAnyConnection() throws Exception {
    String answer = tunnel("blocked.test:" + tls, new byte[0], Integer.MAX_VALUE);
    assertTrue(answer.startsWith("HTTP/1.1 403 ") && answer.contains("no-blocked"), answer);
  }

  /** What came back after the 200's head of {@code answer}, as the hex of its bytes. */
  static java.util.List<String> afterHead(String answer) {
    return answer.substring(answer.indexOf("\r\n\r\n") + 4).chars().mapToObj(Integer::toHexString).toList();
  }

  /** True when {@code answer} holds, after the 200, the start of a TLS record (a ServerHello or an alert). */
  static boolean tlsAnswered(String answer) {
    String after = answer.substring(answer.indexOf("\r\n\r\n") + 4);
    return after.length() == 5 && (after.charAt(0) == 0x16 || after.charAt(0) == 0x15) && after.charAt(1) == 3;
  }

  @Test
  void nonTlsBytesAreClosedAndEncryptedClientHelloIsJudgedByItsOuterNameUnlessTheConfigSaysOtherwise()
      throws Exception {
    byte[] get = "GET /page.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII);
    String closed = tunnel("localhost:" + plain, get, Integer.MAX_VALUE);
    assertTrue(closed.startsWith("HTTP/1.1 200") && !closed.contains("a page over TLS"), closed);
    // Browsers send ECH to every site (a decoy where the site has none): by default such a hello is judged by its
    // outer server name like any other, here tunnelled.
    byte[] ech = ClientHelloReaderTest.chromiumLike();
    String echThrough = tunnel("localhost:" + tls, ech, 5);
    assertTrue(tlsAnswered(echThrough), "nginx answered the ECH hello: " + afterHead(echThrough));
    try {
      TestNodes.commit(daemon, base.replace("accessLog: access.log }",
          "accessLog: access.log, tls: { onNonTls: tunnel, onEch: block } }"), "tunnel plain, block ECH");
      String through = tunnel("localhost:" + plain, get, Integer.MAX_VALUE);
      assertTrue(through.contains("a page over TLS"), "plain HTTP through the tunnel: " + through);
      String echClosed = tunnel("localhost:" + tls, ech, Integer.MAX_VALUE);
      assertTrue(echClosed.startsWith("HTTP/1.1 200") && !echClosed.contains("\u0016\u0003"), "no ServerHello: "
          + echClosed.length() + " bytes");
    } finally {
      TestNodes.commit(daemon, base, "back");
    }
  }
}
