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
 * ldaps with the certificate trusted (proxy.auth.ldap.trust) log users in; the system's CAs alone, or the right
 * certificate under another name (127.0.0.1), are refused: the password never goes to a server not proven.
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
    TestNodes.commit(daemon, config(url, startTls, trusted), url);
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
}
