package io.portcullis.daemon.admin;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Ssh;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Off loopback the admin API speaks TLS only, with the node's own certificate (made once, key 0600) or an admin's:
 * curl, openssl, the local console and the SSH console reach it over TLS; plain HTTP gets no answer.
 */
class AdminTlsTest {
  @RegisterExtension
  final Cleanup cleanup = new Cleanup();
  @TempDir
  Path dir;
  Daemon daemon;
  Curl curl;
  int admin;
  int ssh;
  Path key;
  String token;
  String text;

  @BeforeEach
  void start() throws Exception {
    curl = Curl.in(dir).hideErrors().maxTime(10);
    Peers.require("openssl", "openssl");
    key = Ssh.keygen(dir);
    admin = freePort();
    ssh = freePort();
    text = """
        node: { name: tls-node, shutdownGrace: 1s }
        admin: { listen: 0.0.0.0:%d, allowRemote: true }
        proxy: { enabled: false }
        icap: { enabled: false }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d }
          users: [ { name: boss, role: admin, authorizedKeys: ["%s"] } ]
        """.formatted(admin, ssh, Ssh.publicKey(key));
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("data"));
  }

  @Test
  void theNodesOwnCertificateServesTlsOnlyAndEveryClientTrustsIt() throws Exception {
    Path cert = dir.resolve("data/admin-tls/admin.crt");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("data/admin-tls/admin.key"))));
    assertEquals("https://127.0.0.1:" + admin + "/", Files.readString(dir.resolve("data/admin.url")).strip());
    // Plain HTTP: no answer (curl 52, empty reply, or 56, reset): the token would have crossed in clear.
    Run plain = curl.run("-i", "-H", "Authorization: Bearer " + token, "http://127.0.0.1:" + admin + "/api/v1/status");
    assertFalse(plain.output().startsWith("HTTP/"), plain.output());
    assertNotEquals(0, plain.exit());
    for (String host : new String[] {"127.0.0.1", "localhost"}) {
      Run tls = curl.run("--cacert", cert.toString(), "-H", "Authorization: Bearer " + token,
          "https://" + host + ":" + admin + "/api/v1/status");
      assertEquals(0, tls.exit(), tls.output());
      assertEquals("tls-node", new JsonObject(tls.output()).getString("node"));
    }
    Run untrusted = curl.run("https://127.0.0.1:" + admin + "/health/live");
    assertEquals(60, untrusted.exit(), "curl: the certificate is not trusted without --cacert: " + untrusted.output());
    Run s = Host.runIn(dir, "sh", "-c", "openssl s_client -connect 127.0.0.1:" + admin + " -CAfile " + cert
        + " -verify_return_error -verify_ip 127.0.0.1 </dev/null");
    assertTrue(s.output().contains("Verify return code: 0 (ok)"), s.output());
    // The local console finds the URL and the certificate in the data dir.
    LocalConsole.Result local = LocalConsole.run(null, "--data-dir", dir.resolve("data").toString(), "show", "status");
    assertEquals(0, local.code(), local.out() + local.err());
    assertTrue(local.out().contains("node tls-node"), local.out() + local.err());
    // The SSH console drives the admin API over TLS too.
    Run viaSsh = Ssh.run(dir, new Ssh(ssh).withKey(key, "boss@127.0.0.1", "show status"));
    assertEquals(0, viaSsh.exit(), viaSsh.output());
    assertTrue(viaSsh.output().contains("node tls-node"), viaSsh.output());
  }

  @Test
  void anAdminsOwnCertificateReplacesTheNodesWithoutAMove() throws Exception {
    Run gen = Host.runIn(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "30", "-subj", "/CN=admin.example.test", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", dir.resolve("own.key").toString(), "-out", dir.resolve("own.crt").toString());
    assertEquals(0, gen.exit(), gen.output());
    // Half of it is refused, naming the key missing.
    daemon.commits().setCandidate(text.replace("allowRemote: true }", "allowRemote: true, tls: { certificate: own.crt } }"));
    assertEquals("admin.tls.key", daemon.commits().check().get(0).path());
    TestNodes.commit(daemon, text.replace("allowRemote: true }",
        "allowRemote: true, tls: { certificate: own.crt, key: own.key } }"), "own certificate");
    Run own = curl.run("--cacert", dir.resolve("own.crt").toString(), "-H", "Authorization: Bearer " + token,
        "https://127.0.0.1:" + admin + "/api/v1/status");
    assertEquals(0, own.exit(), "the admin's certificate is served now: " + own.output());
    Run old = curl.run("--cacert", dir.resolve("data/admin-tls/admin.crt").toString(),
        "https://127.0.0.1:" + admin + "/health/live");
    assertEquals(60, old.exit(), "not the node's own any more: " + old.output());
    // The local console follows: it trusts the certificate served, not the node's own left beside it.
    LocalConsole.Result local = LocalConsole.run(null, "--data-dir", dir.resolve("data").toString(), "show", "status");
    assertEquals(0, local.code(), local.out() + local.err());
  }
}
