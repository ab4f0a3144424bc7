package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inspection CA as users and admins get it: made at the first start and kept across restarts, served by the
 * proxy itself at portcullis.invalid (page, PEM, DER), on the admin API without a token, by `show tls ca`; an
 * admin's own CA taken at commit, one that is no CA refused.
 */
class InspectionCaServedTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;

  Daemon start(int admin, int proxy) throws Exception {
    return cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"),
        TestNodes.config(admin, proxy, freePort())), Daemon::stop);
  }

  String openssl(Path input, String... args) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("openssl", "x509", "-noout", "-in",
        input.toString()));
    cmd.addAll(java.util.List.of(args));
    Run r = Host.run(cmd.toArray(String[]::new));
    assertEquals(0, r.exit(), r.output());
    return r.output().strip();
  }

  @Test
  void theNodesOwnCaIsMadeOnceAndServedToBrowsersAndAdmins() throws Exception {
    int admin = freePort();
    int proxy = freePort();
    Daemon daemon = start(admin, proxy);
    Path crt = dir.resolve("data/tls/ca.crt");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("data/tls/ca.key"))), "made at the first start, the key the daemon's alone");
    String fingerprint = openssl(crt, "-fingerprint", "-sha256").replaceAll("(?i)^sha256 fingerprint=", "");

    Curl curl = Curl.in(dir).proxy(proxy).maxTime(20);
    Path page = dir.resolve("page.html");
    assertEquals("200", curl.status("http://portcullis.invalid/", page));
    String html = Files.readString(page);
    assertTrue(html.contains(fingerprint) && html.contains("href=\"/ca.crt\""), html);
    Path pem = dir.resolve("got.pem");
    assertEquals("200", curl.status("http://portcullis.invalid/ca.pem", pem));
    assertEquals(Files.readString(crt), Files.readString(pem), "the CA's certificate, as kept in the data dir");
    Path der = dir.resolve("got.crt");
    assertEquals("200", curl.status("http://PORTCULLIS.invalid/ca.crt", der));
    assertEquals(fingerprint, openssl(der, "-inform", "DER", "-fingerprint", "-sha256")
        .replaceAll("(?i)^sha256 fingerprint=", ""));
    assertEquals("404", curl.status("http://portcullis.invalid/ca.key"));
    assertEquals("405", Curl.in(dir).proxy(proxy).maxTime(20).with("-X", "POST", "-d", "x")
        .status("http://portcullis.invalid/"));

    String api = "http://127.0.0.1:" + admin + "/api/v1/tls/";
    assertEquals(Files.readString(crt), TestNodes.call("GET", api + "ca.pem", null, null).body(), "no token");
    assertEquals(401, TestNodes.call("GET", api + "ca", null, null).status());
    LocalConsole.Result shown = LocalConsole.run(admin, dir.resolve("data"), "", "-c", "show tls ca");
    assertEquals(0, shown.code(), shown.err());
    assertTrue(shown.out().contains(fingerprint) && shown.out().contains("the node's own")
        && shown.out().contains("http://portcullis.invalid/") && shown.out().contains(Files.readString(crt)),
        shown.out());

    daemon.stop();
    start(admin, proxy);
    assertEquals(fingerprint, openssl(crt, "-fingerprint", "-sha256").replaceAll("(?i)^sha256 fingerprint=", ""),
        "kept across a restart: users trust it once");
    assertEquals(Files.readString(crt), TestNodes.call("GET", api + "ca.pem", null, null).body());
  }

  @Test
  void anAdminsCaIsTakenAtCommitAndOneThatIsNoCaIsRefused() throws Exception {
    int admin = freePort();
    int proxy = freePort();
    Daemon daemon = start(admin, proxy);
    Run made = Host.runIn(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "corp.key", "-out", "corp.crt", "-days", "30", "-subj", "/CN=Corp Inspection CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    assertEquals(0, made.exit(), made.output());
    Run leafish = Host.runIn(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "leaf.key", "-out", "leaf.crt", "-days", "30", "-subj", "/CN=not a ca",
        "-addext", "basicConstraints=critical,CA:FALSE");
    assertEquals(0, leafish.exit(), leafish.output());
    String base = daemon.commits().active().text();

    TestNodes.commit(daemon, base.replace("deniedDestinations: [] }",
        "deniedDestinations: [], tls: { ca: { certificate: corp.crt, key: corp.key } } }"), "the admin's CA");
    Path pem = dir.resolve("got.pem");
    assertEquals("200", Curl.in(dir).proxy(proxy).maxTime(20).status("http://portcullis.invalid/ca.pem", pem));
    assertEquals(Files.readString(dir.resolve("corp.crt")).strip(), Files.readString(pem).strip());

    String bad = base.replace("deniedDestinations: [] }",
        "deniedDestinations: [], tls: { ca: { certificate: leaf.crt, key: leaf.key } } }");
    assertEquals(java.util.List.of(), daemon.commits().setCandidate(bad));
    ExecutionException refused = assertThrows(ExecutionException.class,
        () -> daemon.commits().commit("test", "not a CA", null).get(20, TimeUnit.SECONDS));
    assertTrue(String.valueOf(refused.getCause().getMessage()).contains("proxy.tls.ca.certificate"),
        String.valueOf(refused.getCause()));
    assertEquals("200", Curl.in(dir).proxy(proxy).maxTime(20).status("http://portcullis.invalid/ca.pem", pem));
    assertEquals(Files.readString(dir.resolve("corp.crt")).strip(), Files.readString(pem).strip(),
        "the refused commit changed nothing");
    assertFalse(Files.readString(dir.resolve("portcullis.yaml")).contains("leaf.crt"));
    assertTrue(new String(Files.readAllBytes(dir.resolve("data/tls/ca.crt")), StandardCharsets.US_ASCII)
        .contains("BEGIN CERTIFICATE"), "the node's own CA stays for when the admin's is dropped");
  }
}
