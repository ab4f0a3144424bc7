package io.portcullis.daemon.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.TlsConfig;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A leaf as the JDK's TLS stack takes it: a server presenting the minted chain and key on loopback, a client that
 * trusts only the inspection CA and checks the host name as HttpsURLConnection does (endpoint identification HTTPS).
 */
class LeafCertificatesHandshakeTest {
  private static final char[] PASSWORD = "unused".toCharArray();

  @TempDir Path data;
  final ExecutorService server = Executors.newSingleThreadExecutor();

  @AfterEach
  void stop() {
    server.shutdownNow();
  }

  @ParameterizedTest
  @EnumSource(TlsConfig.LeafKey.class)
  void aClientTrustingTheCaAcceptsTheLeafForItsHostOnly(TlsConfig.LeafKey type) throws Exception {
    InspectionCa ca = InspectionCa.loadOrCreate(data, null, data);
    LeafCertificates.Leaf leaf = new LeafCertificates(ca, type, 10, Clock.systemUTC()).leafFor("www.example.test",
        null);

    Handshake ok = handshake(leaf, ca.certificate(), "www.example.test");
    assertEquals("www.example.test", ok.sniSeen().get(10, TimeUnit.SECONDS));
    assertEquals(List.of(leaf.certificate(), ca.certificate()), ok.peerChain());

    SSLHandshakeException wrongHost = assertThrows(SSLHandshakeException.class,
        () -> handshake(leaf, ca.certificate(), "other.example.test"));
    assertTrue(wrongHost.getMessage().contains("No subject alternative DNS name matching other.example.test"),
        wrongHost.getMessage());

    InspectionCa otherCa = InspectionCa.loadOrCreate(data.resolve("other"), null, data);
    SSLHandshakeException untrusted = assertThrows(SSLHandshakeException.class,
        () -> handshake(leaf, otherCa.certificate(), "www.example.test"));
    assertTrue(untrusted.getMessage().contains("PKIX path"), untrusted.getMessage());
  }

  /** What the client saw of a handshake that succeeded, and the server name the server received. */
  record Handshake(List<Certificate> peerChain, Future<String> sniSeen) {
  }

  /** A handshake to a loopback server presenting {@code leaf}, from a client trusting {@code trusted} asking for host. */
  Handshake handshake(LeafCertificates.Leaf leaf, X509Certificate trusted, String host) throws Exception {
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("leaf", leaf.key(), PASSWORD, leaf.chain().toArray(Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, PASSWORD);
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(kmf.getKeyManagers(), null, null);

    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", trusted);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, tmf.getTrustManagers(), null);

    try (SSLServerSocket listener = (SSLServerSocket) serverContext.getServerSocketFactory().createServerSocket(0, 1,
        InetAddress.getLoopbackAddress())) {
      CompletableFuture<String> sni = new CompletableFuture<>();
      server.submit(() -> {
        try (SSLSocket s = (SSLSocket) listener.accept()) {
          s.setSoTimeout(10_000);
          s.startHandshake();
          List<SNIServerName> names = ((ExtendedSSLSession) s.getSession()).getRequestedServerNames();
          sni.complete(names.isEmpty() ? null : ((SNIHostName) names.get(0)).getAsciiName());
          s.getOutputStream().write('x');
          s.getOutputStream().flush();
        } catch (Exception e) {
          sni.completeExceptionally(e); // the client's failure is the one the test looks at
        }
        return null;
      });
      Socket plain = new Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
      try (SSLSocket client = (SSLSocket) clientContext.getSocketFactory().createSocket(plain, host,
          listener.getLocalPort(), true)) {
        client.setSoTimeout(10_000);
        SSLParameters p = client.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(host)));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        client.setSSLParameters(p);
        client.startHandshake();
        assertEquals('x', client.getInputStream().read());
        return new Handshake(List.of(client.getSession().getPeerCertificates()), sni);
      }
    }
  }
}
