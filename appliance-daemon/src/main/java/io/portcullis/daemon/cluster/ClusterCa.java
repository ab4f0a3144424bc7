package io.portcullis.daemon.cluster;

import io.portcullis.daemon.config.AtomicFiles;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's certificates: the control node's own CA (created once, kept in its data dir), the control node's
 * server certificate, and each node's client certificate issued at join. Server certificates say serverAuth only,
 * node certificates clientAuth only, so a node's certificate can never stand in for the control node's. Keys are
 * EC P-256; the JDK's provider does the cryptography, BouncyCastle only builds the certificates.
 */
public final class ClusterCa {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration VALIDITY = Duration.ofDays(3650);

  private final PrivateKey key;
  private final X509Certificate cert;

  private ClusterCa(PrivateKey key, X509Certificate cert) {
    this.key = key;
    this.cert = cert;
  }

  /** The CA kept in {@code dir} (ca.key, ca.crt), created on first use. */
  public static ClusterCa loadOrCreate(Path dir) throws IOException, GeneralSecurityException {
    Path keyFile = dir.resolve("ca.key");
    Path certFile = dir.resolve("ca.crt");
    if (Files.exists(keyFile) && Files.exists(certFile)) {
      return new ClusterCa(readKey(Files.readString(keyFile)), readCert(Files.readString(certFile)));
    }
    Files.createDirectories(dir);
    KeyPair kp = newKeyPair();
    Instant now = Instant.now();
    X500Name name = new X500Name("CN=Portcullis cluster CA " + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE));
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(300)),
        Date.from(now.plus(VALIDITY)), name, kp.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    X509Certificate c = sign(b, kp.getPrivate());
    writePrivate(keyFile, pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
    AtomicFiles.write(certFile, pem("CERTIFICATE", c.getEncoded()).getBytes(StandardCharsets.US_ASCII), null);
    return new ClusterCa(kp.getPrivate(), c);
  }

  /** The CA certificate, PEM: what every node pins at join. */
  public String certificatePem() throws GeneralSecurityException {
    return pem("CERTIFICATE", cert.getEncoded());
  }

  /** A certificate for {@code publicKey} named {@code name}: a node's (clientAuth) or the control node's (serverAuth). */
  public String issue(String name, PublicKey publicKey, boolean server) throws GeneralSecurityException {
    Instant now = Instant.now();
    X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(cert, serial(), Date.from(now.minusSeconds(300)),
        Date.from(now.plus(VALIDITY)), new X500Name(new org.bouncycastle.asn1.x500.X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.CN, name).build().toString()), publicKey);
    try {
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.extendedKeyUsage, false,
          new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    return pem("CERTIFICATE", sign(b, key).getEncoded());
  }

  /** The common name of a certificate's subject (a node's name), or null. */
  public static String commonName(X509Certificate c) {
    var rdns = new X500Name(c.getSubjectX500Principal().getName()).getRDNs(BCStyle.CN);
    return rdns.length == 0 ? null : IETFUtils.valueToString(rdns[0].getFirst().getValue());
  }

  /** A fresh EC P-256 key pair. */
  public static KeyPair newKeyPair() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
    return g.generateKeyPair();
  }

  /** A public key from its X.509 (SubjectPublicKeyInfo) encoding, base64. */
  public static PublicKey publicKey(String base64) throws GeneralSecurityException {
    try {
      return KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
    } catch (IllegalArgumentException e) {
      throw new GeneralSecurityException("not base64", e);
    }
  }

  /** HMAC-SHA256 of {@code parts} joined by newlines under the join secret, base64: a proof of the secret. */
  public static String proof(String secret, String... parts) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return Base64.getEncoder().encodeToString(mac.doFinal(String.join("\n", parts)
          .getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The join key of node {@code name}: PBKDF2-SHA256 of the cluster secret, salted with the name, 24 bytes in
   * base64url. Each node holds only its own, so one node cannot join as another; the iterations make guessing the
   * cluster secret from an overheard proof slow.
   */
  public static String joinKey(String clusterSecret, String name) {
    try {
      javax.crypto.SecretKeyFactory f = javax.crypto.SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256");
      byte[] k = f.generateSecret(new javax.crypto.spec.PBEKeySpec(clusterSecret.toCharArray(),
          ("portcullis-join:" + name).getBytes(StandardCharsets.UTF_8), 200_000, 192)).getEncoded();
      return Base64.getUrlEncoder().withoutPadding().encodeToString(k);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True when {@code cert} is signed by the key of {@code ca}. */
  public static boolean signedBy(X509Certificate cert, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Compares two proofs in constant time. */
  public static boolean sameProof(String a, String b) {
    return a != null && b != null && MessageDigest.isEqual(a.getBytes(StandardCharsets.US_ASCII),
        b.getBytes(StandardCharsets.US_ASCII));
  }

  /** A random nonce, base64. */
  public static String nonce() {
    byte[] b = new byte[18];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().encodeToString(b);
  }

  /** The SHA-256 fingerprint of a PEM certificate, hex (what show cluster prints to compare by eye). */
  public static String fingerprint(String pem) throws GeneralSecurityException {
    return fingerprint(readCert(pem));
  }

  /** The SHA-256 fingerprint of a certificate, hex bytes separated by colons. */
  public static String fingerprint(java.security.cert.Certificate c) throws GeneralSecurityException {
    byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < d.length; i++) {
      sb.append(i == 0 ? "" : ":").append(String.format("%02X", d[i]));
    }
    return sb.toString();
  }

  public static X509Certificate readCert(String pem) throws GeneralSecurityException {
    return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new java.io.ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
  }

  static PrivateKey readKey(String pem) throws GeneralSecurityException {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
  }

  /** DER bytes as PEM with the given label. */
  public static String pem(String label, byte[] der) {
    StringWriter w = new StringWriter();
    w.write("-----BEGIN " + label + "-----\n");
    w.write(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der));
    w.write("\n-----END " + label + "-----\n");
    return w.toString();
  }

  /** Writes a private key readable by the daemon's user only. */
  public static void writePrivate(Path file, String pem) throws IOException {
    AtomicFiles.write(file, pem.getBytes(StandardCharsets.US_ASCII), PosixFilePermissions.fromString("rw-------"));
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey k) throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
          .build(k)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static BigInteger serial() {
    return new BigInteger(120, RANDOM);
  }
}
