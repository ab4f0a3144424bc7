package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Slapd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory over TLS, against a real slapd with a self-signed certificate for the name localhost: StartTLS and
 * ldaps with the certificate trusted (proxy.auth.ldap.trust) log users in; the system's CAs alone, the right
 * certificate under another name (127.0.0.1), or a certificate from a forged CA (the trusted CA's name and key id,
 * another key) are refused: the password never goes to a server not proven.
 */
class ProxyLdapTlsTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Slapd slapd;
  static Daemon daemon;
  static int origin;
  static Curl curl;
  static String template;

  @BeforeAll
  static void start() throws Exception {
    slapd = cleanup.add(Slapd.startWithTls(dir.resolve("slapd")), Slapd::stop);
    Files.copy(slapd.certificate(), dir.resolve("ldap-ca.pem"));
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n"));
    int proxy = freePort();
    curl = Curl.in(dir).hideErrors().maxTime(30).proxy(proxy).with("-i");
    template = """
        admin: { listen: "127.0.0.1:%d" }
        icap: { listen: "127.0.0.1:%d" }
        proxy:
          listen: "127.0.0.1:%d"
          deniedDestinations: []
          auth:
            enabled: true
            cacheTtl: 0s
            lockout: { maxFailures: 0 }
            ldap:
              url: "URL"
              startTls: STARTTLS
              TRUST
              userBase: "%s"
              timeout: 3s
        """.formatted(freePort(), freePort(), proxy, Slapd.PEOPLE);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"),
        config("ldap://localhost:" + slapd.port(), true, true)), Daemon::stop);
  }

  static String config(String url, boolean startTls, boolean trusted) {
    return template.replace("URL", url).replace("STARTTLS", Boolean.toString(startTls))
        .replace("TRUST", trusted ? "trust: ldap-ca.pem" : "");
  }

  static String alice(String url, boolean startTls, boolean trusted) throws Exception {
    return alice(config(url, startTls, trusted), url);
  }

  static String alice(String text, String what) throws Exception {
    TestNodes.commit(daemon, text, what);
    return curl.run("--proxy-user", "alice:alicepw", "http://127.0.0.1:" + origin + "/index.html").output();
  }

  @Test
  void startTlsAndLdapsWithTheCertificateTrustedLogIn() throws Exception {
    String startTls = alice("ldap://localhost:" + slapd.port(), true, true);
    assertTrue(startTls.startsWith("HTTP/1.1 200 "), startTls);
    String ldaps = alice("ldaps://localhost:" + slapd.tlsPort(), false, true);
    assertTrue(ldaps.startsWith("HTTP/1.1 200 "), ldaps);
  }

  @Test
  void anUntrustedOrWronglyNamedDirectoryIsNeverSentAPassword() throws Exception {
    String untrusted = alice("ldaps://localhost:" + slapd.tlsPort(), false, false);
    assertTrue(untrusted.startsWith("HTTP/1.1 503 "), untrusted);
    String startTlsUntrusted = alice("ldap://localhost:" + slapd.port(), true, false);
    assertTrue(startTlsUntrusted.startsWith("HTTP/1.1 503 "), startTlsUntrusted);
    String wrongName = alice("ldaps://127.0.0.1:" + slapd.tlsPort(), false, true);
    assertTrue(wrongName.startsWith("HTTP/1.1 503 "), wrongName);
    String wrongNameStartTls = alice("ldap://127.0.0.1:" + slapd.port(), true, true);
    assertTrue(wrongNameStartTls.startsWith("HTTP/1.1 503 "), wrongNameStartTls);
  }

  @Test
  void aCertificateFromAForgedCaIsRefused() throws Exception {
    Path pki = java.nio.file.Files.createDirectories(dir.resolve("pki"));
    // The trusted CA and a forgery of it: the same name and subject key id, another key.
    String skid = "subjectKeyIdentifier=0102030405060708090A0B0C0D0E0F1011121314";
    for (String ca : java.util.List.of("ca", "forged")) {
      run(pki, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
          "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2", "-subj", "/CN=Portcullis Test LDAP CA",
          "-addext", skid, "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }
    java.nio.file.Files.writeString(pki.resolve("leaf.ext"),
        "subjectAltName=DNS:localhost\nauthorityKeyIdentifier=keyid\nextendedKeyUsage=serverAuth\n");
    run(pki, "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost");
    for (String ca : java.util.List.of("ca", "forged")) {
      run(pki, "openssl", "x509", "-req", "-in", "leaf.csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
          "-CAcreateserial", "-out", "leaf-" + ca + ".crt", "-days", "2", "-extfile", "leaf.ext");
    }
    // slapd's own certificate and key, back in place after (the other tests trust that one)
    java.nio.file.Files.copy(slapd.certificate(), pki.resolve("own.crt"));
    java.nio.file.Files.copy(slapd.certificate().resolveSibling("slapd.key"), pki.resolve("own.key"));
    // The CA under a name of its own: a directory's trust is read when its settings change, as a commit names it.
    java.nio.file.Files.copy(pki.resolve("ca.crt"), dir.resolve("test-ca.pem"));
    String withCa = config("ldaps://localhost:" + slapd.tlsPort(), false, true).replace("ldap-ca.pem", "test-ca.pem");
    try {
      slapd.serve(pki.resolve("leaf-ca.crt"), pki.resolve("leaf.key"));
      String genuine = alice(withCa, "the test CA");
      assertTrue(genuine.startsWith("HTTP/1.1 200 "), "a certificate of the trusted CA: " + genuine);
      slapd.serve(pki.resolve("leaf-forged.crt"), pki.resolve("leaf.key"));
      String forged = alice(withCa + "# again\n", "the test CA again");
      assertTrue(forged.startsWith("HTTP/1.1 503 "), "a certificate of the forged CA: " + forged);
    } finally {
      slapd.serve(pki.resolve("own.crt"), pki.resolve("own.key"));
    }
  }

  static void run(Path in, String... cmd) throws Exception {
    io.portcullis.testsupport.Host.Run r = io.portcullis.testsupport.Host.runIn(in, cmd);
    assertTrue(r.exit() == 0, String.join(" ", cmd) + ": " + r.output());
  }
}
