package io.portcullis.daemon.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.Problem;
import io.portcullis.daemon.config.TlsConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The inspection CA: the node's own, made once and kept; an admin's, in each key form openssl writes; and the CAs
 * and keys that must be refused, each with a problem that names the file.
 */
class InspectionCaTest {
  static final String CA_EXT = "basicConstraints=critical,CA:TRUE";
  static final TlsConfig.Ca NONE = new TlsConfig.Ca(null, null);

  @TempDir Path data;
  @TempDir Path conf;

  @Test
  void theNodesOwnIsMadeOnceAndReloadedAsItWas() throws Exception {
    InspectionCa first = InspectionCa.loadOrCreate(data, null, conf);
    Path key = data.resolve("tls/ca.key");
    Path cert = data.resolve("tls/ca.crt");
    byte[] keyBytes = Files.readAllBytes(key);
    byte[] certBytes = Files.readAllBytes(cert);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve("tls"))));
    assertTrue(new String(keyBytes).startsWith("-----BEGIN PRIVATE KEY-----"));

    InspectionCa again = InspectionCa.loadOrCreate(data, NONE, conf);
    assertArrayEquals(first.certificate().getEncoded(), again.certificate().getEncoded());
    assertEquals(first.fingerprint(), again.fingerprint());
    assertEquals(first.key(), again.key());
    assertArrayEquals(keyBytes, Files.readAllBytes(key), "the key is never written again");
    assertArrayEquals(certBytes, Files.readAllBytes(cert));
    assertEquals(first.certificatePem(), Files.readString(cert));
    assertTrue(again.nodeOwn());
    assertFalse(again.toString().contains("PRIVATE"), again.toString());

    X509Certificate c = first.certificate();
    assertTrue(Pattern.matches("CN=Portcullis inspection CA [0-9a-f]{12},O=Portcullis",
        c.getSubjectX500Principal().getName()), c.getSubjectX500Principal().getName());
    assertEquals(c.getSubjectX500Principal(), c.getIssuerX500Principal());
    assertEquals(0, c.getBasicConstraints(), "CA with pathLen 0");
    assertTrue(c.getCriticalExtensionOIDs().containsAll(List.of("2.5.29.19", "2.5.29.15")));
    assertArrayEquals(new boolean[] {false, false, false, false, false, true, true, false, false}, c.getKeyUsage());
    assertEquals(256, ((ECPublicKey) c.getPublicKey()).getParams().getCurve().getField().getFieldSize());
    assertEquals(Duration.ofDays(3650).plusHours(1).toDays(),
        Duration.between(c.getNotBefore().toInstant(), c.getNotAfter().toInstant()).toDays());
    assertEquals(Openssl.colonHex(first.keyIdentifier()), Openssl.keyId(data, "tls/ca.crt", "subjectKeyIdentifier"));
    assertTrue(Openssl.run(data, "verify", "-CAfile", "tls/ca.crt", "tls/ca.crt").contains("OK"));
  }

  @Test
  void aCertificateWithoutItsKeyIsNeverReplaced() throws Exception {
    InspectionCa.loadOrCreate(data, null, conf);
    byte[] cert = Files.readAllBytes(data.resolve("tls/ca.crt"));
    Files.delete(data.resolve("tls/ca.key"));
    IOException e = assertThrows(IOException.class, () -> InspectionCa.loadOrCreate(data, null, conf));
    assertTrue(e.getMessage().contains("ca.key is not"), e.getMessage());
    assertArrayEquals(cert, Files.readAllBytes(data.resolve("tls/ca.crt")), "clients may trust it");
  }

  @ParameterizedTest
  @ValueSource(strings = {"pkcs8-ec", "traditional-ec", "traditional-rsa"})
  void anAdminsCaIsUsedInEachKeyFormWithBouncyCastleRegistered(String form) throws Exception {
    // SSHD registers BouncyCastle as a provider when the console starts: the keys read must not change with it.
    boolean added = java.security.Security.addProvider(
        new org.bouncycastle.jce.provider.BouncyCastleProvider()) > 0;
    try {
      anAdminsCaIsUsedInEachKeyForm(form);
    } finally {
      if (added) {
        java.security.Security.removeProvider(org.bouncycastle.jce.provider.BouncyCastleProvider.PROVIDER_NAME);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"pkcs8-ec", "traditional-ec", "traditional-rsa"})
  void anAdminsCaIsUsedInEachKeyForm(String form) throws Exception {
    List<String> keygen = switch (form) {
      case "pkcs8-ec" -> Openssl.ecPkcs8("admin");
      case "traditional-ec" -> Openssl.ecTraditional("admin");
      default -> Openssl.rsaTraditional("admin");
    };
    Openssl.selfSigned(conf, "admin", 30, keygen, "/O=Example Corp/CN=Example Inspection CA", CA_EXT);
    String head = Files.readString(conf.resolve("admin.key")).lines().findFirst().orElseThrow();
    assertEquals(switch (form) {
      case "pkcs8-ec" -> "-----BEGIN PRIVATE KEY-----";
      case "traditional-ec" -> "-----BEGIN EC PARAMETERS-----";
      default -> "-----BEGIN RSA PRIVATE KEY-----";
    }, head, "the form openssl wrote");

    InspectionCa ca = InspectionCa.loadOrCreate(data, new TlsConfig.Ca("admin.crt", "admin.key"), conf);
    assertFalse(ca.nodeOwn());
    assertEquals(Files.readString(conf.resolve("admin.crt")), ca.certificatePem());
    assertEquals(form.endsWith("rsa") ? "SHA256withRSA" : "SHA256withECDSA", ca.signatureAlgorithm());
    assertFalse(Files.exists(data.resolve("tls")), "no CA of the node's own is made");

    LeafCertificates leaves = new LeafCertificates(ca, TlsConfig.LeafKey.ECDSA, 10, java.time.Clock.systemUTC());
    Openssl.write(conf.resolve("leaf.pem"), List.of(leaves.leafFor("www.example.test", null).certificate()));
    assertEquals("leaf.pem: OK", Openssl.run(conf, "verify", "-CAfile", "admin.crt", "-purpose", "sslserver",
        "leaf.pem").strip());
  }

  @Test
  void anAdminsSubordinateCaIsSentWithItsIssuer() throws Exception {
    Openssl.selfSigned(conf, "root", 60, Openssl.ecPkcs8("root"), "/CN=Example Root", CA_EXT);
    Openssl.run(conf, Openssl.ecPkcs8("sub").toArray(String[]::new));
    Openssl.run(conf, "req", "-new", "-key", "sub.key", "-subj", "/CN=Example Sub CA", "-out", "sub.csr");
    Files.writeString(conf.resolve("sub.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\n"
        + "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n");
    Openssl.run(conf, "x509", "-req", "-in", "sub.csr", "-CA", "root.crt", "-CAkey", "root.key", "-days", "30",
        "-extfile", "sub.ext", "-out", "sub-only.crt");
    Files.writeString(conf.resolve("sub.crt"), Files.readString(conf.resolve("sub-only.crt"))
        + Files.readString(conf.resolve("root.crt")));

    InspectionCa ca = InspectionCa.loadOrCreate(data, new TlsConfig.Ca("sub.crt", "sub.key"), conf);
    assertEquals(2, ca.chain().size());
    LeafCertificates.Leaf leaf = new LeafCertificates(ca, TlsConfig.LeafKey.ECDSA, 10, java.time.Clock.systemUTC())
        .leafFor("www.example.test", null);
    assertEquals(3, leaf.chain().size(), "leaf, sub CA, root");
    Openssl.write(conf.resolve("leaf.pem"), List.of(leaf.certificate()));
    Openssl.write(conf.resolve("untrusted.pem"), List.of(leaf.chain().get(1)));
    assertEquals("leaf.pem: OK", Openssl.run(conf, "verify", "-CAfile", "root.crt", "-untrusted", "untrusted.pem",
        "-purpose", "sslserver", "leaf.pem").strip(), "clients trust the company's root only");
  }

  @Test
  void aCertificateThatIsNoCaIsRefused() throws Exception {
    Openssl.selfSigned(conf, "server", 30, Openssl.ecPkcs8("server"), "/CN=not a CA",
        "basicConstraints=critical,CA:FALSE");
    Problem p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("server.crt", "server.key"), conf));
    assertEquals("proxy.tls.ca.certificate", p.path());
    assertTrue(p.message().startsWith(conf.resolve("server.crt") + " is not a CA certificate"), p.message());
  }

  @Test
  void aCaThatMayNotSignCertificatesIsRefused() throws Exception {
    Openssl.selfSigned(conf, "crl", 30, Openssl.ecPkcs8("crl"), "/CN=CRL signer", CA_EXT,
        "keyUsage=critical,cRLSign,digitalSignature");
    Problem p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("crl.crt", "crl.key"), conf));
    assertEquals("proxy.tls.ca.certificate", p.path());
    assertTrue(p.message().contains("lacks keyCertSign"), p.message());
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefusedNamingTheKeysPath() throws Exception {
    Openssl.selfSigned(conf, "a", 30, Openssl.ecPkcs8("a"), "/CN=CA a", CA_EXT);
    Openssl.selfSigned(conf, "b", 30, Openssl.ecTraditional("b"), "/CN=CA b", CA_EXT);
    Openssl.selfSigned(conf, "r", 30, Openssl.rsaTraditional("r"), "/CN=CA r", CA_EXT);
    Problem p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.crt", "b.key"), conf));
    assertEquals("proxy.tls.ca.key", p.path());
    assertEquals(conf.resolve("b.key") + " is not the private key of the certificate " + conf.resolve("a.crt")
        + ": give the key the CA certificate was made for", p.message());
    assertNoKeyMaterial(p, "b.key");

    p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.crt", "r.key"), conf));
    assertEquals("proxy.tls.ca.key", p.path());
    assertTrue(p.message().contains("(RSA key, EC certificate)"), p.message());
    assertFalse(Files.exists(data.resolve("tls")));
  }

  @Test
  void filesThatHoldNoUsableKeyAreRefusedSayingWhy() throws Exception {
    Openssl.selfSigned(conf, "a", 30, Openssl.ecPkcs8("a"), "/CN=CA a", CA_EXT);
    Openssl.run(conf, "pkey", "-in", "a.key", "-aes256", "-passout", "pass:secret", "-out", "enc.key");
    Problem p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.crt", "enc.key"), conf));
    assertEquals("proxy.tls.ca.key", p.path());
    assertTrue(p.message().startsWith(conf.resolve("enc.key") + " holds an encrypted key"), p.message());

    p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.crt", "a.crt"), conf));
    assertTrue(p.message().contains("holds no private key"), p.message());
    p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.crt", "missing.key"), conf));
    assertEquals(conf.resolve("missing.key") + " does not exist", p.message());

    // Both files wrong: both reported at once.
    ConfigException both = assertThrows(ConfigException.class,
        () -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("a.key", "missing.key"), conf));
    assertEquals(List.of("proxy.tls.ca.certificate", "proxy.tls.ca.key"),
        both.problems().stream().map(Problem::path).toList());
  }

  @Test
  void anExpiredCaIsRefused() throws Exception {
    // openssl 3.0's req and x509 cannot backdate: made here.
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    java.security.KeyPair kp = g.generateKeyPair();
    var name = new org.bouncycastle.asn1.x500.X500Name("CN=Old CA");
    var b = new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(name, java.math.BigInteger.TEN,
        java.util.Date.from(java.time.Instant.parse("2020-01-01T00:00:00Z")),
        java.util.Date.from(java.time.Instant.parse("2021-01-01T00:00:00Z")), name, kp.getPublic());
    b.addExtension(org.bouncycastle.asn1.x509.Extension.basicConstraints, true,
        new org.bouncycastle.asn1.x509.BasicConstraints(true));
    Files.writeString(conf.resolve("old.crt"), Pem.encode("CERTIFICATE", b.build(
        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()))
        .getEncoded()));
    Files.writeString(conf.resolve("old.key"), Pem.encode("PRIVATE KEY", kp.getPrivate().getEncoded()));
    Problem p = single(() -> InspectionCa.loadOrCreate(data, new TlsConfig.Ca("old.crt", "old.key"), conf));
    assertEquals("proxy.tls.ca.certificate", p.path());
    assertTrue(p.message().endsWith("expired on 2021-01-01T00:00:00Z"), p.message());
  }

  private interface Load {
    void run() throws Exception;
  }

  private static Problem single(Load load) {
    ConfigException e = assertThrows(ConfigException.class, load::run);
    assertEquals(1, e.problems().size(), e.getMessage());
    return e.problems().get(0);
  }

  private void assertNoKeyMaterial(Problem p, String keyFile) throws IOException {
    for (String line : Files.readAllLines(conf.resolve(keyFile))) {
      if (!line.startsWith("-----") && line.length() > 8) {
        assertFalse(p.message().contains(line.substring(0, 8)), "the key's text is in the message");
      }
    }
    assertNotEquals("", p.message());
  }
}
