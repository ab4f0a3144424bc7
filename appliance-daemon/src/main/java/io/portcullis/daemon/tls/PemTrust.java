package io.portcullis.daemon.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Collection;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A trust manager for a client of ours (a directory, a log server): the JDK's PKIX checks (signatures, validity,
 * CA constraints, and the server's name when the socket asks for an endpoint identification) against the
 * certificates of a PEM file, or the JDK's trust store when there is none.
 */
public final class PemTrust {
  private PemTrust() {
  }

  /** Trusting the certificates in {@code pem} alone; null: the JDK's trust store (Debian's CAs). */
  public static X509ExtendedTrustManager of(Path pem) throws GeneralSecurityException, IOException {
    KeyStore anchors = null;
    if (pem != null) {
      Collection<? extends Certificate> certs;
      try (InputStream in = Files.newInputStream(pem)) {
        certs = CertificateFactory.getInstance("X.509").generateCertificates(in);
      }
      if (certs.isEmpty()) {
        throw new GeneralSecurityException("no certificate in " + pem);
      }
      anchors = KeyStore.getInstance(KeyStore.getDefaultType());
      anchors.load(null, null);
      int i = 0;
      for (Certificate c : certs) {
        anchors.setCertificateEntry("trusted-" + i++, c);
      }
    }
    TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
    f.init(anchors);
    for (var tm : f.getTrustManagers()) {
      if (tm instanceof X509ExtendedTrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no PKIX trust manager");
  }
}
