package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTPS inspection against a real nginx serving TLS origins (one trusted through proxy.tls.trust, one per way a
 * certificate can be bad), with real curl and openssl s_client trusting the node's CA: pages byte for byte over a
 * kept-alive tunnel, the certificate minted for the host, the block page and the malware page over HTTPS, a tunnel
 * rule leaving the origin's own certificate, and our error page, naming the reason, for each untrusted origin.
 */
class InspectionProxyTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int proxy;
  static int good;
  static int tunnelled;
  static int selfSigned;
  static int expired;
  static int wrongName;
  static int unknownCa;
  static Path www;
  static Curl curl;
  static int admin;

  @BeforeAll
  static void start() throws Exception {
    Path certs = dir.resolve("certs");
    OriginCerts.Issued ca = OriginCerts.ca("Test Origin CA");
    ca.write(dir, "origin-ca"); // in the config's directory: proxy.tls.trust names it
    OriginCerts.Issued other = OriginCerts.ca("Nobody's CA");
    Instant now = Instant.now();
    OriginCerts.leaf(ca, 30, "localhost", "inspect.test").write(certs, "good"); // inspect.test: no DNS knows it
    OriginCerts.leaf(null, 30, "localhost").write(certs, "self");
    OriginCerts.leaf(ca, now.minus(Duration.ofDays(20)), now.minus(Duration.ofDays(2)), "localhost")
        .write(certs, "expired");
    OriginCerts.leaf(ca, 30, "other.test").write(certs, "wrong");
    OriginCerts.leaf(other, 30, "localhost").write(certs, "unknown");
    www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("1k.bin"), 1024, 1);
    Host.randomFile(www.resolve("5m.bin"), 5 * 1024 * 1024, 2);
    Files.writeString(www.resolve("secret.txt"), "not for users\n");
    Files.writeString(www.resolve("eicar.com"), io.portcullis.testsupport.Eicar.TEXT);
    StringBuilder servers = new StringBuilder();
    List<Integer> ports = new ArrayList<>();
    for (String name : List.of("good", "good", "self", "expired", "wrong", "unknown")) {
      int port = freePort();
      ports.add(port);
      servers.append(Peers.tlsServer(port, certs.resolve(name + ".crt"), certs.resolve(name + ".key"), www));
    }
    good = ports.get(0);
    tunnelled = ports.get(1);
    selfSigned = ports.get(2);
    expired = ports.get(3);
    wrongName = ports.get(4);
    unknownCa = ports.get(5);
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, freePort(), servers.toString()));
    proxy = freePort();
    String connectPorts = ports.stream().map(String::valueOf).reduce((a, b) -> a + ", " + b).orElseThrow();
    admin = freePort();
    String text = TestNodes.config(admin, proxy, freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], connectPorts: [" + connectPorts + "], accessLog: access.log, "
            + "tls: { inspect: true, trust: [origin-ca.crt] } }")
        + """
        rules:
          access:
            - { name: no-secret, when: { urls: ["https://localhost:*/secret*"] }, action: block }
            - { name: to-portal, when: { urls: ["https://localhost:*/old/*"] }, action: redirect,
                location: "https://portal.test/" }
          protection:
            - { name: scan-all, action: block }
          tls:
            - { name: keep-own, when: { ports: [%d] }, action: tunnel }
        """.formatted(tunnelled);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    curl = Curl.in(dir).proxy(proxy).maxTime(30).with("--cacert", dir.resolve("data/tls/ca.crt").toString());
  }

  static String accessLog() throws Exception {
    Path log = dir.resolve("access.log");
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Test
  void pagesPassByteForByteOverOneKeptAliveTunnel() throws Exception {
    Path small = dir.resolve("got-1k");
    Path big = dir.resolve("got-5m");
    Run r = curl.run("-o", small.toString(), "-o", big.toString(), "-w", "%{http_code} %{num_connects}\n",
        "https://localhost:" + good + "/1k.bin", "https://localhost:" + good + "/5m.bin");
    assertEquals("200 1\n200 0", r.output().strip(), "both answered, the second on the first's tunnel: " + r.output());
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(small));
    assertEquals(Host.sha256(www.resolve("5m.bin")), Host.sha256(big));
    Host.waitUntil("the access log's lines with the https URLs", () -> accessLog()
        .contains("GET https://localhost:" + good + "/5m.bin") && accessLog().contains("GET https://localhost:"
        + good + "/1k.bin"));
  }

  /** The node's events, newest last. */
  static List<io.vertx.core.json.JsonObject> events() throws Exception {
    TestNodes.Answer a = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/events?limit=1000",
        TestNodes.token(dir.resolve("data")), null);
    assertEquals(200, a.status(), a.body());
    return a.json().getJsonArray("events").stream().map(o -> (io.vertx.core.json.JsonObject) o).toList();
  }

  /** The value of the metric line that starts with {@code series}, 0 when there is none. */
  static double metric(String series) throws Exception {
    String metrics = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics",
        TestNodes.token(dir.resolve("data")), null).body();
    for (String line : metrics.split("\n")) {
      if (line.startsWith(series + " ")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  @Test
  void eventsCarryTheHttpsUrlTheTlsDecisionAndTheServerName() throws Exception {
    String url = "https://localhost:" + good + "/1k.bin?event";
    assertEquals("200", curl.status(url, dir.resolve("got-event")));
    Host.waitUntil("the event of " + url, () -> events().stream().anyMatch(e -> url.equals(e.getString("url"))));
    io.vertx.core.json.JsonObject e = events().stream().filter(x -> url.equals(x.getString("url"))).findFirst()
        .orElseThrow();
    assertEquals("inspect", e.getString("tls"), e.encode());
    assertEquals("localhost", e.getString("sni"), e.encode());
    assertEquals("allow", e.getString("action"), e.encode());
    assertTrue(metric("portcullis_tls_tunnels_total{decision=\"inspect\",}") >= 1
        || metric("portcullis_tls_tunnels_total{decision=\"inspect\"}") >= 1, "counted");
  }

  @Test
  void aConnectToAnAddressWithTheNameInTheSniIsInspectedAndForwardedThere() throws Exception {
    // curl's --connect-to: CONNECT 127.0.0.1:PORT, the TLS for inspect.test, a name no resolver knows (as the
    // bench's load generator does): the proxy must connect where the CONNECT said, not look the name up.
    Path got = dir.resolve("got-address");
    Run r = curl.run("-v", "--connect-to", "inspect.test:" + good + ":127.0.0.1:" + good, "-o", got.toString(), "-w",
        "%{http_code}", "https://inspect.test:" + good + "/1k.bin");
    assertTrue(r.output().contains("CONNECT 127.0.0.1:" + good), r.output());
    assertTrue(r.output().strip().endsWith("200"), r.output());
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
  }

  /** What openssl s_client, through the proxy to the good origin, got back for {@code request}. */
  static String raw(String request) throws Exception {
    Path in = Files.writeString(dir.resolve("request.txt"), request);
    return Host.runWithInput(in, "timeout", "30", "openssl", "s_client", "-quiet", "-proxy", "127.0.0.1:" + proxy,
        "-connect", "localhost:" + good, "-servername", "localhost", "-CAfile",
        dir.resolve("data/tls/ca.crt").toString()).output();
  }

  @Test
  void aRequestForAnotherHostOnTheTunnelIs421AndAHostWithoutItsPortMeansTheTunnels() throws Exception {
    String portless = raw("GET /1k.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assertTrue(portless.contains("HTTP/1.1 200 "), portless);
    String other = raw("GET /1k.bin HTTP/1.1\r\nHost: other.test:" + good + "\r\nConnection: close\r\n\r\n");
    assertTrue(other.contains("HTTP/1.1 421 ") && other.contains("This connection is for localhost only"), other);
  }

  @Test
  void anHttp10ConnectIsInspectedToo() throws Exception {
    // HTTP/1.0 has no keep-alive by default: the CONNECT's connection must outlive its 200 all the same.
    Path got = dir.resolve("got-10");
    assertEquals("200", curl.with("--proxy1.0", "127.0.0.1:" + proxy).status("https://localhost:" + good
        + "/1k.bin", got));
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
  }

  @Test
  void theCertificateShownIsMintedForTheHostBySigningWithTheNodesCa() throws Exception {
    Path nothing = Files.writeString(dir.resolve("empty.txt"), "");
    Run s = Host.runWithInput(nothing, "timeout", "30", "openssl", "s_client", "-proxy", "127.0.0.1:" + proxy,
        "-connect", "localhost:" + good, "-servername", "localhost", "-CAfile",
        dir.resolve("data/tls/ca.crt").toString(), "-showcerts");
    assertTrue(s.output().contains("Verify return code: 0 (ok)"), s.output());
    String issuer = Files.readString(dir.resolve("data/tls/ca.crt"));
    Path leaf = Files.writeString(dir.resolve("leaf.pem"), s.output().substring(
        s.output().indexOf("-----BEGIN CERTIFICATE-----"), s.output().indexOf("-----END CERTIFICATE-----") + 25));
    String text = Host.run("openssl", "x509", "-in", leaf.toString(), "-noout", "-text").output();
    assertTrue(text.contains("DNS:localhost") && text.contains("id-ecPublicKey") && text.contains("prime256v1"),
        text);
    String caSubject = Host.run("openssl", "x509", "-in", dir.resolve("data/tls/ca.crt").toString(), "-noout",
        "-subject").output().strip().substring("subject=".length());
    assertTrue(text.contains("Issuer: " + caSubject), caSubject + " in " + text);
    assertTrue(!issuer.isEmpty());
  }

  @Test
  void theBlockPageAndTheMalwarePageAppearOverHttps() throws Exception {
    Path page = dir.resolve("blocked.html");
    assertEquals("403", curl.status("https://localhost:" + good + "/secret.txt", page));
    assertTrue(Files.readString(page).contains("no-secret"), Files.readString(page));
    Path eicar = dir.resolve("eicar.html");
    assertEquals("403", curl.status("https://localhost:" + good + "/eicar.com", eicar));
    assertTrue(Files.readString(eicar).contains("EICAR-Test-File"), Files.readString(eicar));
  }

  @Test
  void tls12ClientsAreInspectedToo() throws Exception {
    Path got = dir.resolve("got-tls12");
    Run r = curl.run("-v", "--tls-max", "1.2", "-o", got.toString(), "-w", "%{http_code}",
        "https://localhost:" + good + "/1k.bin");
    assertTrue(r.output().contains("TLSv1.2") && r.output().strip().endsWith("200"), r.output());
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
  }

  @Test
  void anOriginWhoseFingerprintIsAllowedIsServedThoughSelfSigned() throws Exception {
    String fingerprint = Host.run("openssl", "x509", "-in", dir.resolve("certs/self.crt").toString(), "-noout",
        "-fingerprint", "-sha256").output().strip().replaceAll(".*=", "");
    String before = daemon.commits().active().text();
    try {
      TestNodes.commit(daemon, before.replace("tls: { inspect: true,", "tls: { inspect: true, allowedCertificates: [\""
          + fingerprint + "\"],"), "allow the self-signed one");
      Path got = dir.resolve("got-allowed");
      assertEquals("200", curl.status("https://localhost:" + selfSigned + "/1k.bin", got));
      assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
      assertEquals("502", curl.status("https://localhost:" + unknownCa + "/1k.bin"), "only that certificate");
    } finally {
      TestNodes.commit(daemon, before, "back");
    }
  }

  @Test
  void aRedirectRuleAnswersOverHttpsToo() throws Exception {
    assertEquals("302 https://portal.test/", curl.run("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
        "https://localhost:" + good + "/old/page").output().strip());
  }

  @Test
  void aTunnelRuleLeavesTheOriginsOwnCertificate() throws Exception {
    Path got = dir.resolve("got-tunnelled");
    assertEquals("200", Curl.in(dir).proxy(proxy).maxTime(30).with("--cacert", dir.resolve("origin-ca.crt")
        .toString()).status("https://localhost:" + tunnelled + "/1k.bin", got));
    assertEquals(Host.sha256(www.resolve("1k.bin")), Host.sha256(got));
  }

  @Test
  void eachUntrustedOriginGetsOurErrorPageNamingWhy() throws Exception {
    for (var c : List.of(List.of(selfSigned, "self-signed"), List.of(expired, "expired"),
        List.of(wrongName, "wrong name"), List.of(unknownCa, "unknown CA"))) {
      Path page = dir.resolve("error-" + c.get(0) + ".html");
      assertEquals("502", curl.status("https://localhost:" + c.get(0) + "/1k.bin", page), c.toString());
      String html = Files.readString(page);
      assertTrue(html.contains("not trusted: " + c.get(1)), c + ": " + html);
    }
    String reason = "expired";
    Host.waitUntil("the refusal counted", () -> metric("portcullis_tls_origin_untrusted_total{reason=\"" + reason
        + "\",}") + metric("portcullis_tls_origin_untrusted_total{reason=\"" + reason + "\"}") >= 1);
    Host.waitUntil("the error event", () -> events().stream().anyMatch(e -> "error".equals(e.getString("tls"))
        && ("https://localhost:" + expired + "/1k.bin").equals(e.getString("url"))));
  }
}
