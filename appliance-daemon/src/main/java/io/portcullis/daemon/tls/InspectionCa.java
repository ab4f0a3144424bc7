package io.portcullis.daemon.tls;

import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.Problem;
import io.portcullis.daemon.config.TlsConfig;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA that signs the certificates inspected clients are shown: the admin's own (or a subordinate CA of the company
 * PKI) when {@code proxy.tls.ca} names one, else the node's own, made at first need in DATA_DIR/tls and kept across
 * restarts, since clients were told to trust it. The private key never leaves this package and is never logged.
 */
public final class InspectionCa {
  /** Under the data dir: where the node's own CA is kept. */
  public static final String DIR = "tls";
  static final String KEY_FILE = "ca.key";
  static final String CERT_FILE = "ca.crt";
  private static final Logger LOG = LoggerFactory.getLogger(InspectionCa.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration VALIDITY = Duration.ofDays(3650);
  /** Larger files are no PEM key or certificate an admin meant. */
  private static final long MAX_FILE = 1 << 20;

  private final List<X509Certificate> chain;
  private final PrivateKey key;
  private final byte[] keyIdentifier;
  private final boolean nodeOwn;

  private InspectionCa(List<X509Certificate> chain, PrivateKey key, boolean nodeOwn) {
    this.chain = List.copyOf(chain);
    this.key = key;
    this.keyIdentifier = keyIdentifier(chain.get(0));
    this.nodeOwn = nodeOwn;
  }

  /**
   * The admin's CA when {@code configured} names one (files relative to {@code configDir}; what is wrong with them is a
   * {@link ConfigException} naming the key's path), else the node's own under {@code dataDir}, made if absent.
   */
  public static synchronized InspectionCa loadOrCreate(Path dataDir, TlsConfig.Ca configured, Path configDir)
      throws IOException, ConfigException {
    if (configured != null && configured.configured()) {
      return loadConfigured(configDir.resolve(configured.certificate()), configDir.resolve(configured.key()));
    }
    return loadOrCreateOwn(dataDir.resolve(DIR));
  }

  /** Where a cluster's node keeps the CA its control node sent: beside its own, which stays for when it leaves. */
  static final String CLUSTER_DIR = "cluster";

  /** A CA as sent from a control node to its nodes: the chain and the key, as PEM. */
  public record Transfer(String chainPem, String keyPem) {
    @Override
    public String toString() {
      return "Transfer[" + chainPem.length() + " bytes of certificates, key ## SECRET-DATA]"; // never the key
    }
  }

  /** The CA to send to the cluster's nodes: over its mutual TLS only, never shown, logged or written elsewhere. */
  public Transfer transfer() {
    StringBuilder pem = new StringBuilder();
    try {
      for (X509Certificate c : chain) {
        pem.append(Pem.encode("CERTIFICATE", c.getEncoded()));
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return new Transfer(pem.toString(), Pem.encode("PRIVATE KEY", key.getEncoded()));
  }

  /**
   * Checks the CA a control node sent ({@code t}) as an admin's is checked, and keeps it in DATA_DIR/tls/cluster (its
   * key mode 0600), so that a restart without the control node still shows clients the cluster's CA.
   */
  public static synchronized InspectionCa keepFromCluster(Path dataDir, Transfer t) throws IOException {
    InspectionCa ca = parse(t.chainPem(), t.keyPem(), "the control node's inspection CA");
    Path dir = dataDir.resolve(DIR).resolve(CLUSTER_DIR);
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Pem.writePrivate(dir.resolve(KEY_FILE), t.keyPem());
    AtomicFiles.write(dir.resolve(CERT_FILE), t.chainPem().getBytes(StandardCharsets.US_ASCII),
        PosixFilePermissions.fromString("rw-r--r--"));
    return ca;
  }

  /** The CA the control node sent last (see {@link #keepFromCluster}), or null when none was. */
  public static synchronized InspectionCa loadFromCluster(Path dataDir) throws IOException {
    Path dir = dataDir.resolve(DIR).resolve(CLUSTER_DIR);
    if (!Files.exists(dir.resolve(CERT_FILE)) || !Files.exists(dir.resolve(KEY_FILE))) {
      return null;
    }
    try {
      return parse(read(dir.resolve(CERT_FILE)), read(dir.resolve(KEY_FILE)), dir.toString());
    } catch (Pem.Unusable e) {
      throw new IOException(dir + ": " + e.getMessage());
    }
  }

  private static InspectionCa parse(String chainPem, String keyPem, String what) throws IOException {
    try {
      List<X509Certificate> chain = Pem.certificates(chainPem);
      PrivateKey key = Pem.privateKey(keyPem);
      String wrong = chain.isEmpty() ? "holds no certificate" : notACa(chain);
      if (wrong == null && !matches(key, chain.get(0))) {
        wrong = "has a key that is not its certificate's";
      }
      if (wrong != null) {
        throw new IOException(what + " " + wrong);
      }
      return new InspectionCa(chain, key, false);
    } catch (Pem.Unusable e) {
      throw new IOException(what + " " + e.getMessage());
    }
  }

  /**
   * Replaces the node's own CA under {@code dataDir} with a new one; the old one's files move to
   * DATA_DIR/tls/previous/SECONDS (kept: an admin who must go back copies them back). Every client must then trust the
   * new CA.
   */
  public static synchronized InspectionCa rotateOwn(Path dataDir) throws IOException {
    Path dir = dataDir.resolve(DIR);
    Path old = dir.resolve("previous").resolve(Long.toString(Instant.now().getEpochSecond()));
    Files.createDirectories(old, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    // The certificate first: a crash between the two moves leaves a key without a certificate, which makes a new CA
    // at the next start, never the old certificate without its key.
    for (String f : List.of(CERT_FILE, KEY_FILE)) {
      if (Files.exists(dir.resolve(f))) {
        Files.move(dir.resolve(f), old.resolve(f), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      }
    }
    AtomicFiles.fsyncDirectory(dir);
    InspectionCa made = loadOrCreateOwn(dir);
    LOG.info("inspection CA rotated: the previous one is kept in {}", old);
    return made;
  }

  /** The CA's certificate: what clients must trust. */
  public X509Certificate certificate() {
    return chain.get(0);
  }

  /** The CA's certificate, then those above it that the admin's file holds: sent to clients after each leaf. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The CA's certificate as PEM, for clients to download and trust. */
  public String certificatePem() {
    try {
      return Pem.encode("CERTIFICATE", certificate().getEncoded());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The SHA-256 fingerprint of the CA's certificate, colon-separated hex, to compare with what a client trusts. */
  public String fingerprint() {
    return Pem.fingerprint(certificate());
  }

  /** True for the node's own CA, false for the admin's. */
  public boolean nodeOwn() {
    return nodeOwn;
  }

  /** The CA's private key: for signing leaves in this package only. */
  PrivateKey key() {
    return key;
  }

  /** The CA's subject key identifier (its own extension's, else computed): each leaf's authority key identifier. */
  byte[] keyIdentifier() {
    return keyIdentifier.clone();
  }

  /** The signature algorithm for this CA's key. */
  String signatureAlgorithm() {
    return signatureAlgorithm(key.getAlgorithm());
  }

  @Override
  public String toString() {
    return "InspectionCa[" + certificate().getSubjectX500Principal().getName() + ", " + fingerprint() + "]";
  }

  private static InspectionCa loadConfigured(Path certFile, Path keyFile) throws ConfigException {
    String certPath = TlsConfig.PATH + ".ca.certificate";
    String keyPath = TlsConfig.PATH + ".ca.key";
    List<Problem> problems = new ArrayList<>();
    List<X509Certificate> chain = null;
    PrivateKey key = null;
    try {
      chain = Pem.certificates(read(certFile));
      if (chain.isEmpty()) {
        throw new Pem.Unusable("holds no PEM certificate");
      }
      String why = notACa(chain);
      if (why != null) {
        throw new Pem.Unusable(why);
      }
    } catch (Pem.Unusable e) {
      problems.add(new Problem(certPath, certFile + " " + e.getMessage(), 0, 0));
      chain = null;
    }
    try {
      key = Pem.privateKey(read(keyFile));
    } catch (Pem.Unusable e) {
      problems.add(new Problem(keyPath, keyFile + " " + e.getMessage(), 0, 0));
    }
    if (chain != null && key != null && !matches(key, chain.get(0))) {
      String certAlg = chain.get(0).getPublicKey().getAlgorithm();
      problems.add(new Problem(keyPath, keyFile + " is not the private key of the certificate " + certFile
          + (certAlg.equals(key.getAlgorithm()) ? "" : " (" + key.getAlgorithm() + " key, " + certAlg + " certificate)")
          + ": give the key the CA certificate was made for", 0, 0));
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    warnIfOthersRead(keyFile);
    return new InspectionCa(chain, key, false);
  }

  private static InspectionCa loadOrCreateOwn(Path dir) throws IOException {
    Path keyFile = dir.resolve(KEY_FILE);
    Path certFile = dir.resolve(CERT_FILE);
    if (Files.exists(certFile)) {
      // The certificate is written last: once it is there, clients may trust it, so it is never made anew.
      if (!Files.exists(keyFile)) {
        throw new IOException(certFile + " is there but " + keyFile + " is not: clients may trust that CA, so no "
            + "new one is made; put the key back, or remove " + certFile + " to make a new CA (clients must then "
            + "trust the new one)");
      }
      try {
        List<X509Certificate> chain = Pem.certificates(read(certFile));
        PrivateKey key = Pem.privateKey(read(keyFile));
        if (chain.size() != 1 || notACa(chain) != null || !matches(key, chain.get(0))) {
          throw new Pem.Unusable("is not the key of a CA certificate " + certFile);
        }
        return new InspectionCa(chain, key, true);
      } catch (Pem.Unusable e) {
        throw new IOException("the node's inspection CA cannot be used (" + keyFile + ", " + certFile + "): "
            + e.getMessage());
      }
    }
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      KeyPair kp = g.generateKeyPair();
      Instant now = Instant.now();
      byte[] suffix = new byte[6];
      RANDOM.nextBytes(suffix);
      // Distinct per node, so that a client trusting several nodes' CAs tells them apart.
      X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "Portcullis")
          .addRDN(BCStyle.CN, "Portcullis inspection CA " + HexFormat.of().formatHex(suffix)).build();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minus(
          Duration.ofHours(1))), Date.from(now.plus(VALIDITY)), name, kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(Extension.subjectKeyIdentifier, false,
          new JcaX509ExtensionUtils().createSubjectKeyIdentifier(kp.getPublic()));
      X509Certificate cert = new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
      Pem.writePrivate(keyFile, Pem.encode("PRIVATE KEY", kp.getPrivate().getEncoded()));
      AtomicFiles.write(certFile, Pem.encode("CERTIFICATE", cert.getEncoded()).getBytes(StandardCharsets.US_ASCII),
          PosixFilePermissions.fromString("rw-r--r--"));
      InspectionCa ca = new InspectionCa(List.of(cert), kp.getPrivate(), true);
      LOG.info("inspection CA made: {} (SHA-256 {}); clients must trust it before proxy.tls.inspect is on", certFile,
          ca.fingerprint());
      return ca;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IllegalStateException("cannot make the inspection CA: " + e.getMessage(), e);
    }
  }

  /** Null if the chain's first certificate may sign server certificates now and the rest are its issuers in order. */
  private static String notACa(List<X509Certificate> chain) {
    X509Certificate c = chain.get(0);
    if (c.getBasicConstraints() < 0) {
      return "is not a CA certificate (its basicConstraints do not say CA:TRUE)";
    }
    boolean[] usage = c.getKeyUsage();
    // No keyUsage at all allows every use (RFC 5280 4.2.1.3), as `openssl req -x509` makes by default.
    if (usage != null && (usage.length < 6 || !usage[5])) {
      return "is a CA certificate whose keyUsage lacks keyCertSign: it may not sign certificates";
    }
    try {
      c.checkValidity();
    } catch (CertificateExpiredException e) {
      return "expired on " + c.getNotAfter().toInstant();
    } catch (CertificateNotYetValidException e) {
      return "is not valid before " + c.getNotBefore().toInstant();
    }
    String alg = c.getPublicKey().getAlgorithm();
    if (!alg.equals("EC") && !alg.equals("RSA")) {
      return "has a " + alg + " key: only EC and RSA CAs sign certificates every client accepts";
    }
    if (c.getPublicKey() instanceof RSAKey rsa && rsa.getModulus().bitLength() < 2048) {
      return "has an RSA key of " + rsa.getModulus().bitLength() + " bits: clients refuse under 2048";
    }
    for (int i = 1; i < chain.size(); i++) {
      if (!chain.get(i).getSubjectX500Principal().equals(chain.get(i - 1).getIssuerX500Principal())) {
        return "holds certificates after the CA's that are not its issuers in order (certificate " + (i + 1) + ")";
      }
    }
    return null;
  }

  /** True if {@code key} signs what the certificate's public key verifies: they are one pair. */
  private static boolean matches(PrivateKey key, X509Certificate cert) {
    String alg = key.getAlgorithm();
    if (!alg.equals(cert.getPublicKey().getAlgorithm()) || signatureAlgorithm(alg) == null) {
      return false;
    }
    try {
      byte[] challenge = new byte[32];
      RANDOM.nextBytes(challenge);
      Signature s = Signature.getInstance(signatureAlgorithm(alg));
      s.initSign(key);
      s.update(challenge);
      byte[] signature = s.sign();
      s.initVerify(cert.getPublicKey());
      s.update(challenge);
      return s.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // another curve, a key the provider refuses: not this certificate's
    }
  }

  private static String signatureAlgorithm(String keyAlgorithm) {
    return switch (keyAlgorithm) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      default -> null;
    };
  }

  private static byte[] keyIdentifier(X509Certificate c) {
    byte[] ext = c.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (ext != null) {
      return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getKeyIdentifier();
    }
    try {
      return new JcaX509ExtensionUtils().createSubjectKeyIdentifier(c.getPublicKey()).getKeyIdentifier();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Logs (the path only) when anyone may read the admin's key: a group the daemon is in may be meant, others not. */
  private static void warnIfOthersRead(Path keyFile) {
    try {
      if (Files.getPosixFilePermissions(keyFile).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
        LOG.warn("{} (proxy.tls.ca.key) is readable by every user of this host: chmod o-r it", keyFile);
      }
    } catch (IOException | UnsupportedOperationException e) {
      // no POSIX permissions to check
    }
  }

  private static String read(Path file) throws Pem.Unusable {
    try {
      if (Files.size(file) > MAX_FILE) {
        throw new Pem.Unusable("is over " + MAX_FILE + " bytes: not a PEM file");
      }
      return Files.readString(file, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new Pem.Unusable("does not exist");
    } catch (AccessDeniedException e) {
      throw new Pem.Unusable("is not readable by the daemon's user");
    } catch (IOException e) {
      throw new Pem.Unusable("cannot be read (" + e.getClass().getSimpleName() + ")");
    }
  }

  static BigInteger serial() {
    // The top bit set: always positive and 120 bits long, with 119 random (RFC 5280 and CA/B ask 64 at least).
    return new BigInteger(119, RANDOM).setBit(119);
  }
}
