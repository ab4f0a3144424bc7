package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user's browser shows through an inspecting proxy: Debian's Chromium, headless, with the node's CA imported
 * into its certificate store (NSS, as an admin's device profile would), loads an inspected https page and is shown
 * our block page for a blocked https URL; without the CA it refuses the certificate. Each page shown is kept as a
 * screenshot in target/screenshots.
 */
class ChromiumInspectionTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static int proxy;
  static int origin;
  static String chromium;
  static Path shots;

  @BeforeAll
  static void start() throws Exception {
    chromium = Peers.require("chromium", "chromium");
    Peers.require("certutil", "libnss3-tools");
    OriginCerts.Issued ca = OriginCerts.ca("Test Origin CA");
    ca.write(dir, "origin-ca");
    OriginCerts.leaf(ca, 30, "localhost").write(dir.resolve("certs"), "origin");
    Path www = Files.createDirectories(dir.resolve("www"));
    Files.writeString(www.resolve("page.html"), "<!doctype html><html><head><title>Inspected</title></head>"
        + "<body><h1>An inspected page</h1></body></html>\n");
    Files.writeString(www.resolve("blocked.html"), "<!doctype html><html><body><h1>Not for users</h1></body></html>\n");
    origin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, freePort(), Peers.tlsServer(origin,
        dir.resolve("certs/origin.crt"), dir.resolve("certs/origin.key"), www)));
    proxy = freePort();
    String text = TestNodes.config(freePort(), proxy, freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], connectPorts: [" + origin + "], tls: { inspect: true, trust: [origin-ca.crt] } }")
        + """
        rules:
          access:
            - { name: no-blocked-pages, when: { urls: ["https://localhost:*/blocked*"] }, action: block }
        """;
    cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    shots = Files.createDirectories(Path.of("target", "screenshots"));
  }

  /** A browser profile (its own HOME) whose NSS store trusts {@code caOrNull} for web sites. */
  static Path profile(String name, Path caOrNull) throws Exception {
    Path home = Files.createDirectories(dir.resolve("home-" + name));
    Path nss = Files.createDirectories(home.resolve(".pki/nssdb"));
    Run init = Host.run("certutil", "-d", "sql:" + nss, "-N", "--empty-password");
    assertEquals(0, init.exit(), init.output());
    if (caOrNull != null) {
      Run add = Host.run("certutil", "-d", "sql:" + nss, "-A", "-t", "C,,", "-n", "Portcullis inspection CA", "-i",
          caOrNull.toString());
      assertEquals(0, add.exit(), add.output());
    }
    return home;
  }

  /**
   * Chromium's DOM of {@code url} through the proxy with the profile in {@code home}, and its screenshot in
   * target/screenshots/{@code shot} (null: none is expected, the page must fail to load); what Chromium printed.
   */
  static String load(Path home, String url, String shot) throws Exception {
    List<String> common = List.of("env", "HOME=" + home, "timeout", "60", chromium, "--headless=new", "--no-sandbox",
        "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + home.resolve("chrome"),
        "--proxy-server=http://127.0.0.1:" + proxy, "--proxy-bypass-list=<-loopback>", "--window-size=1024,600");
    List<String> dom = new ArrayList<>(common);
    dom.addAll(List.of("--dump-dom", url));
    Run r = Host.run(dom.toArray(String[]::new));
    if (shot == null) {
      return r.output();
    }
    List<String> picture = new ArrayList<>(common);
    Path file = shots.resolve(shot).toAbsolutePath();
    Files.deleteIfExists(file);
    picture.addAll(List.of("--screenshot=" + file, url));
    Run s = Host.run(picture.toArray(String[]::new));
    assertTrue(Files.exists(file) && Files.size(file) > 1000, "a screenshot of " + url + ": " + s.output()
        + "\n--- dump-dom: " + r.output());
    return r.output();
  }

  @Test
  void withTheCaImportedAnInspectedPageLoadsAndABlockedUrlShowsTheBlockPage() throws Exception {
    Path home = profile("trusting", dir.resolve("data/tls/ca.crt"));
    String page = load(home, "https://localhost:" + origin + "/page.html", "inspected-page.png");
    assertTrue(page.contains("An inspected page"), page);
    String blocked = load(home, "https://localhost:" + origin + "/blocked.html", "block-page.png");
    assertTrue(blocked.contains("no-blocked-pages") && !blocked.contains("Not for users"), blocked);
  }

  @Test
  void withoutTheCaTheBrowserRefusesTheInspectedSite() throws Exception {
    Path home = profile("plain", null);
    String page = load(home, "https://localhost:" + origin + "/page.html", null);
    assertFalse(page.contains("An inspected page"), page);
    assertTrue(page.contains("ERR_CERT_AUTHORITY_INVALID"), page);
  }
}
