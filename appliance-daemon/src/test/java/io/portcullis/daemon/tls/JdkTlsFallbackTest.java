package io.portcullis.daemon.tls;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Inspection on the JDK's TLS, where BoringSSL does not load (forced here with -Dportcullis.tls.jdk=true): curl gets
 * the page through an inspected tunnel, the minted certificate verified, and an untrusted origin our page.
 */
class JdkTlsFallbackTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;

  @AfterEach
  void back() {
    System.clearProperty(Interception.JDK_ONLY);
  }

  @Test
  void inspectionWorksOnTheJdksTls() throws Exception {
    System.setProperty(Interception.JDK_ONLY, "true");
    OriginCerts.Issued ca = OriginCerts.ca("Test Origin CA");
    ca.write(dir, "origin-ca");
    OriginCerts.leaf(ca, 30, "localhost").write(dir.resolve("certs"), "origin");
    OriginCerts.leaf(null, 30, "localhost").write(dir.resolve("certs"), "self");
    Path www = Files.createDirectories(dir.resolve("www"));
    Host.randomFile(www.resolve("64k.bin"), 65536, 3);
    int origin = freePort();
    int self = freePort();
    cleanup.add(Peers.nginx(dir.resolve("nginx"), www, freePort(), Peers.tlsServer(origin,
        dir.resolve("certs/origin.crt"), dir.resolve("certs/origin.key"), www) + Peers.tlsServer(self,
        dir.resolve("certs/self.crt"), dir.resolve("certs/self.key"), www)));
    int proxy = freePort();
    String text = TestNodes.config(freePort(), proxy, freePort()).replace("deniedDestinations: [] }",
        "deniedDestinations: [], connectPorts: [" + origin + ", " + self + "], "
            + "tls: { inspect: true, trust: [origin-ca.crt] } }");
    cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    Curl curl = Curl.in(dir).proxy(proxy).with("--cacert", dir.resolve("data/tls/ca.crt").toString());
    Path got = dir.resolve("got");
    assertEquals("200", curl.status("https://localhost:" + origin + "/64k.bin", got));
    assertEquals(Host.sha256(www.resolve("64k.bin")), Host.sha256(got));
    assertEquals("502", curl.status("https://localhost:" + self + "/64k.bin"));
  }
}
