package io.portcullis.daemon.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.TlsConfig;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The leaves as a real peer reads them: openssl verifies each against the CA as a TLS server certificate and prints
 * its names, key, identifiers and dates; the origin's certificate is one openssl made, signed by a throwaway CA.
 */
class LeafCertificatesTest {
  @TempDir Path dir;
  InspectionCa ca;
  String caSki;

  @BeforeEach
  void ca() throws Exception {
    ca = InspectionCa.loadOrCreate(dir.resolve("data"), null, dir);
    Files.copy(dir.resolve("data/tls/ca.crt"), dir.resolve("ca.crt"));
    caSki = Openssl.keyId(dir, "ca.crt", "subjectKeyIdentifier");
  }

  LeafCertificates leaves(TlsConfig.LeafKey type) {
    return new LeafCertificates(ca, type, 100, Clock.systemUTC());
  }

  /** openssl's verdict on {@code leaf} as a server certificate chaining to ca.crt, with {@code more} checks. */
  String verify(X509Certificate leaf, String... more) throws Exception {
    Openssl.write(dir.resolve("leaf.pem"), List.of(leaf));
    List<String> args = new java.util.ArrayList<>(List.of("verify", "-CAfile", "ca.crt", "-purpose", "sslserver"));
    args.addAll(List.of(more));
    args.add("leaf.pem");
    return Openssl.status(dir, args.toArray(String[]::new)).output().strip();
  }

  String text(X509Certificate leaf) throws Exception {
    Openssl.write(dir.resolve("leaf.pem"), List.of(leaf));
    return Openssl.run(dir, "x509", "-in", "leaf.pem", "-noout", "-text");
  }

  String sans(X509Certificate leaf) throws Exception {
    Openssl.write(dir.resolve("leaf.pem"), List.of(leaf));
    String out = Openssl.run(dir, "x509", "-in", "leaf.pem", "-noout", "-ext", "subjectAltName");
    return out.lines().skip(1).map(String::strip).findFirst().orElse("");
  }

  /** An origin's certificate as openssl makes one: {@code subject}, {@code days} long, with {@code san} if not null. */
  X509Certificate origin(String subject, int days, String san) throws Exception {
    if (!Files.exists(dir.resolve("throwaway.crt"))) {
      Openssl.selfSigned(dir, "throwaway", 30, Openssl.ecPkcs8("throwaway"), "/CN=Throwaway Origin CA",
          InspectionCaTest.CA_EXT);
      Openssl.run(dir, Openssl.ecPkcs8("origin").toArray(String[]::new));
    }
    Openssl.run(dir, "req", "-new", "-key", "origin.key", "-subj", subject, "-out", "origin.csr");
    Files.writeString(dir.resolve("origin.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        + (san == null ? "" : "subjectAltName=" + san + "\n"));
    Openssl.run(dir, "x509", "-req", "-in", "origin.csr", "-CA", "throwaway.crt", "-CAkey", "throwaway.key",
        "-days", String.valueOf(days), "-extfile", "origin.ext", "-out", "origin.crt");
    try (InputStream in = Files.newInputStream(dir.resolve("origin.crt"))) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  @Test
  void aLeafFromTheServerNameIsAServerCertificateOfTheCa() throws Exception {
    Instant before = Instant.now();
    LeafCertificates.Leaf leaf = leaves(TlsConfig.LeafKey.ECDSA).leafFor("WWW.Example.test", null);
    X509Certificate c = leaf.certificate();
    assertEquals("leaf.pem: OK", verify(c, "-verify_hostname", "www.example.test"));
    assertTrue(verify(c, "-verify_hostname", "other.example.test").contains("hostname mismatch"));
    String text = text(c);
    assertEquals("DNS:www.example.test", sans(c));
    assertTrue(text.contains("Subject: CN = www.example.test\n"), text);
    assertTrue(text.contains("id-ecPublicKey") && text.contains("ASN1 OID: prime256v1"), text);
    assertTrue(text.contains("Signature Algorithm: ecdsa-with-SHA256"), text);
    assertTrue(text.contains("X509v3 Key Usage: critical\n                Digital Signature\n"), text);
    assertTrue(text.contains("X509v3 Extended Key Usage: \n                TLS Web Server Authentication\n"), text);
    assertTrue(text.contains("CA:FALSE"), text);
    assertEquals(caSki, Openssl.keyId(dir, "leaf.pem", "authorityKeyIdentifier"));
    assertNotEquals(caSki, Openssl.keyId(dir, "leaf.pem", "subjectKeyIdentifier"));
    assertEquals(List.of(c, ca.certificate()), leaf.chain());
    assertNotEquals(ca.certificate().getPublicKey(), c.getPublicKey());
    assertEquals(120, c.getSerialNumber().bitLength());

    Instant notBefore = c.getNotBefore().toInstant();
    Instant notAfter = c.getNotAfter().toInstant();
    assertTrue(!notBefore.isAfter(before.minus(Duration.ofMinutes(59))), "backdated an hour: " + notBefore);
    assertTrue(!notAfter.isAfter(Instant.now().plus(Duration.ofDays(397))), notAfter.toString());
    assertTrue(notAfter.isAfter(before.plus(Duration.ofDays(396))), notAfter.toString());
  }

  @Test
  void theRsaOptionMakesRsa2048LeavesForEncipherment() throws Exception {
    X509Certificate c = leaves(TlsConfig.LeafKey.RSA).leafFor("www.example.test", null).certificate();
    assertEquals("leaf.pem: OK", verify(c));
    String text = text(c);
    assertTrue(text.contains("rsaEncryption") && text.contains("Public-Key: (2048 bit)"), text);
    assertTrue(text.contains("Digital Signature, Key Encipherment"), text);
    assertTrue(text.contains("Signature Algorithm: ecdsa-with-SHA256"), "signed by the EC CA:\n" + text);
    assertEquals(caSki, Openssl.keyId(dir, "leaf.pem", "authorityKeyIdentifier"));
  }

  @Test
  void anOriginsNamesOrganizationAndEndAreCopied() throws Exception {
    X509Certificate origin = origin("/C=US/O=Example Origin Inc/CN=origin.example.test", 5,
        "DNS:origin.example.test,DNS:*.cdn.example.test,IP:10.1.2.3,IP:2001:db8::1");
    LeafCertificates leaves = leaves(TlsConfig.LeafKey.ECDSA);
    LeafCertificates.Leaf leaf = leaves.leafFor("img.cdn.example.test", origin);
    X509Certificate c = leaf.certificate();
    assertEquals("DNS:origin.example.test, DNS:*.cdn.example.test, IP Address:10.1.2.3, "
        + "IP Address:2001:DB8:0:0:0:0:0:1", sans(c), "the server name is not added: the origin's covers it");
    assertEquals("CN=origin.example.test,O=Example Origin Inc", c.getSubjectX500Principal().getName());
    assertEquals(origin.getNotAfter(), c.getNotAfter(), "no longer than the origin's");
    assertEquals("leaf.pem: OK", verify(c, "-verify_hostname", "img.cdn.example.test"));
    assertEquals("leaf.pem: OK", verify(c, "-verify_ip", "10.1.2.3"));
    assertEquals(caSki, Openssl.keyId(dir, "leaf.pem", "authorityKeyIdentifier"));

    assertSame(leaf, leaves.leafFor("origin.example.test", origin), "one leaf for every host the origin's covers");
    assertEquals(1, leaves.misses());
  }

  @Test
  void anOriginsCertificateThatDoesNotCoverTheServerNameIsCopiedAsItIs() throws Exception {
    X509Certificate origin = origin("/CN=origin.example.test", 5, "DNS:origin.example.test,IP:10.1.2.3");
    X509Certificate c = leaves(TlsConfig.LeafKey.ECDSA).leafFor("elsewhere.example.test", origin).certificate();
    assertEquals("DNS:origin.example.test, IP Address:10.1.2.3", sans(c));
    assertTrue(verify(c, "-verify_hostname", "elsewhere.example.test").contains("hostname mismatch"),
        "the client sees the mismatch it would have seen");
  }

  @Test
  void anOriginWithoutAlternativeNamesGivesItsCommonName() throws Exception {
    X509Certificate origin = origin("/O=Legacy/CN=legacy.example.test", 5, null);
    assertNull(origin.getSubjectAlternativeNames());
    X509Certificate c = leaves(TlsConfig.LeafKey.ECDSA).leafFor("legacy.example.test", origin).certificate();
    assertEquals("DNS:legacy.example.test", sans(c));
    assertEquals("leaf.pem: OK", verify(c, "-verify_hostname", "legacy.example.test"));
  }

  @Test
  void anIpAddressGivesAnIpNameAndNoSubject() throws Exception {
    X509Certificate c = leaves(TlsConfig.LeafKey.ECDSA).leafFor("192.0.2.7", null).certificate();
    assertEquals("IP Address:192.0.2.7", sans(c));
    assertEquals("", c.getSubjectX500Principal().getName());
    assertTrue(c.getCriticalExtensionOIDs().contains("2.5.29.17"), "an empty subject needs critical names");
    assertEquals("leaf.pem: OK", verify(c, "-verify_ip", "192.0.2.7"));
    X509Certificate v6 = leaves(TlsConfig.LeafKey.ECDSA).leafFor("[2001:db8::7]", null).certificate();
    assertEquals("IP Address:2001:DB8:0:0:0:0:0:7", sans(v6));
  }

  @Test
  void aNameOverSixtyFourCharactersIsNoCommonName() throws Exception {
    String name = "a".repeat(60) + ".example.test";
    X509Certificate c = leaves(TlsConfig.LeafKey.ECDSA).leafFor(name, null).certificate();
    assertEquals("", c.getSubjectX500Principal().getName());
    assertEquals("DNS:" + name, sans(c));
    assertEquals("leaf.pem: OK", verify(c, "-verify_hostname", name));
  }

  @Test
  void aLeafNeverOutlivesItsCa() throws Exception {
    Openssl.selfSigned(dir, "short", 30, Openssl.ecPkcs8("short"), "/CN=Short CA", InspectionCaTest.CA_EXT);
    InspectionCa shortCa = InspectionCa.loadOrCreate(dir.resolve("data"), new TlsConfig.Ca("short.crt", "short.key"),
        dir);
    X509Certificate c = new LeafCertificates(shortCa, TlsConfig.LeafKey.ECDSA, 10, Clock.systemUTC())
        .leafFor("www.example.test", null).certificate();
    assertEquals(shortCa.certificate().getNotAfter(), c.getNotAfter());
  }

  @Test
  void withoutAnyNameThereIsNoLeaf() {
    LeafCertificates leaves = leaves(TlsConfig.LeafKey.ECDSA);
    assertThrows(IllegalArgumentException.class, () -> leaves.leafFor(null, null));
    assertThrows(IllegalArgumentException.class, () -> leaves.leafFor("bad name!", null));
    assertThrows(IllegalArgumentException.class, () -> leaves.leafFor("bücher.example", null));
    assertEquals(0, leaves.misses() + leaves.size());
    assertFalse(leaves.leafFor("ok.example", null).toString().contains("PRIVATE"));
  }
}
