package io.portcullis.daemon.tls;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Origin certificates for the tests' TLS servers (nginx), made here because openssl's command line cannot date a
 * certificate in the past: a CA, and leaves it (or nobody) signs, for chosen names and validity, written as PEM.
 */
final class OriginCerts {
  private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());

  /** A certificate and its key. */
  record Issued(X509Certificate certificate, PrivateKey key) {
    /** Writes dir/NAME.crt and dir/NAME.key (PKCS#8); the certificate's path. */
    Path write(Path dir, String name) throws Exception {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(name + ".key"), pem("PRIVATE KEY", key.getEncoded()));
      return Files.writeString(dir.resolve(name + ".crt"), pem("CERTIFICATE", certificate.getEncoded()));
    }
  }

  private OriginCerts() {
  }

  static String pem(String label, byte[] der) {
    return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + label + "-----\n";
  }

  private static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  /** A CA named {@code cn}, valid a year. */
  static Issued ca(String cn) throws Exception {
    KeyPair kp = ec();
    X500Name name = new X500Name("CN=" + cn);
    Instant now = Instant.now();
    var b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofDays(1))), Date.from(now.plus(Duration.ofDays(365))), name, kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new Issued(new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()))), kp.getPrivate());
  }

  /**
   * A server certificate for the DNS {@code names} (the first is its CN), valid from {@code from} to {@code to},
   * signed by {@code issuer} (null: by itself).
   */
  static Issued leaf(Issued issuer, Instant from, Instant to, String... names) throws Exception {
    KeyPair kp = ec();
    X500Name subject = new X500Name("CN=" + names[0]);
    X500Name issuerName = issuer == null ? subject
        : new X500Name(issuer.certificate().getSubjectX500Principal().getName());
    var b = new JcaX509v3CertificateBuilder(issuerName, BigInteger.valueOf(SERIAL.incrementAndGet()), Date.from(from),
        Date.from(to), subject, kp.getPublic());
    GeneralName[] sans = new GeneralName[names.length];
    for (int i = 0; i < names.length; i++) {
      sans[i] = new GeneralName(GeneralName.dNSName, names[i]);
    }
    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
    PrivateKey signer = issuer == null ? kp.getPrivate() : issuer.key();
    return new Issued(new JcaX509CertificateConverter().getCertificate(
        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer))), kp.getPrivate());
  }

  /** A leaf valid from a day ago for {@code days} days more. */
  static Issued leaf(Issued issuer, int days, String... names) throws Exception {
    Instant now = Instant.now();
    return leaf(issuer, now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(days)), names);
  }
}
