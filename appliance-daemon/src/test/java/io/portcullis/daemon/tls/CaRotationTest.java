package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rotate tls ca}: without {@code now} it only says what a new CA means; with it the node's own CA is made anew
 * and in effect at once (curl trusting the old CA is refused, trusting the new one gets the page), the old one kept
 * under DATA_DIR/tls/previous; an admin's CA (proxy.tls.ca) is not rotated.
 */
class CaRotationTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;

  @Test
  void theNodesOwnCaIsMadeAnewAndInEffectAtOnce() throws Exception {
    OriginCerts.Issued ca = OriginCerts.ca("Test Origin CA");
    ca.write(dir, "origin-ca");
    OriginCerts.leaf(ca, 30, "localhost").write(dir.resolve("certs"), "origin");
    Path www = Files.createDirectories(dir.resolve("www"));
    Files.writeString(www.resolve("page.txt"), "inspected\n");
    int origin = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, freePort(), Peers.tlsServer(origin,
        dir.resolve("certs/origin.crt"), dir.resolve("certs/origin.key"), www)));
    int proxy = freePort();
    int admin = freePort();
    String text = TestNodes.config(admin, proxy, freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], connectPorts: [" + origin + "], tls: { inspect: true, trust: [origin-ca.crt] } }");
    Daemon daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text),
        Daemon::stop);
    Path oldCa = Files.copy(dir.resolve("data/tls/ca.crt"), dir.resolve("old-ca.crt"));
    String url = "https://localhost:" + origin + "/page.txt";
    assertEquals("200", Curl.in(dir).proxy(proxy).with("--cacert", oldCa.toString()).status(url));
    String before = daemon.inspectionCa().fingerprint();

    LocalConsole.Result said = LocalConsole.run(admin, dir.resolve("data"), null, "rotate", "tls", "ca");
    assertEquals(0, said.code(), said.toString());
    assertTrue(said.out().contains("every client must trust the new CA"), said.out());
    assertEquals(before, daemon.inspectionCa().fingerprint(), "without now: nothing changes");

    LocalConsole.Result done = LocalConsole.run(admin, dir.resolve("data"), null, "rotate", "tls", "ca", "now");
    assertEquals(0, done.code(), done.toString());
    String after = daemon.inspectionCa().fingerprint();
    assertNotEquals(before, after);
    assertTrue(done.out().contains(after + " replaces " + before), done.out());
    Path newCa = dir.resolve("data/tls/ca.crt");
    assertEquals("60", Curl.in(dir).proxy(proxy).hideErrors().with("--cacert", oldCa.toString()).run("-o",
        "/dev/null", "-w", "%{exitcode}", url).output().strip().replaceAll(".*?(\\d+)$", "$1"),
        "the old CA no longer verifies what the proxy shows");
    assertEquals("200", Curl.in(dir).proxy(proxy).with("--cacert", newCa.toString()).status(url));
    List<Path> kept;
    try (Stream<Path> s = Files.list(dir.resolve("data/tls/previous"))) {
      kept = s.toList();
    }
    assertEquals(1, kept.size());
    assertEquals(Files.readString(oldCa), Files.readString(kept.get(0).resolve("ca.crt")));
    assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(kept.get(0))));
  }

  @Test
  void anAdminsCaIsNotRotatedHere() throws Exception {
    OriginCerts.ca("Admin CA").write(dir, "admin-ca");
    int admin = freePort();
    String text = TestNodes.config(admin, freePort(), freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], tls: { ca: { certificate: admin-ca.crt, key: admin-ca.key } } }");
    Daemon daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text),
        Daemon::stop);
    String before = daemon.inspectionCa().fingerprint();
    LocalConsole.Result r = LocalConsole.run(admin, dir.resolve("data"), null, "rotate", "tls", "ca", "now");
    assertEquals(1, r.code(), r.toString());
    assertTrue(r.err().contains("proxy.tls.ca names the admin's CA") || r.out().contains(
        "proxy.tls.ca names the admin's CA"), r.toString());
    assertEquals(before, daemon.inspectionCa().fingerprint());
  }
}
