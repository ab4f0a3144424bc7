package io.portcullis.daemon.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.TlsConfig;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The leaves kept: one signature per host, least recently used dropped, renewed before they expire, one at a time. */
class LeafCertificatesCacheTest {
  @TempDir Path data;
  InspectionCa ca;
  final MovableClock clock = new MovableClock(Instant.now());

  /** A clock the test moves. */
  static final class MovableClock extends Clock {
    volatile Instant now;

    MovableClock(Instant now) {
      this.now = now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @BeforeEach
  void ca() throws Exception {
    ca = InspectionCa.loadOrCreate(data, null, data);
  }

  LeafCertificates leaves(int maxEntries) {
    return new LeafCertificates(ca, TlsConfig.LeafKey.ECDSA, maxEntries, clock);
  }

  @Test
  void theSameHostTwiceIsSignedOnce() {
    LeafCertificates leaves = leaves(10);
    LeafCertificates.Leaf first = leaves.leafFor("www.example.test", null);
    assertSame(first, leaves.leafFor("WWW.EXAMPLE.TEST", null));
    assertSame(first, leaves.leafFor("www.example.test.", null));
    assertEquals(1, leaves.misses());
    assertEquals(2, leaves.hits());
  }

  @Test
  void otherHostsGetOtherLeavesWithTheSameKey() {
    LeafCertificates leaves = leaves(10);
    X509Certificate a = leaves.leafFor("a.example.test", null).certificate();
    X509Certificate b = leaves.leafFor("b.example.test", null).certificate();
    assertNotEquals(a, b);
    assertNotEquals(a.getSerialNumber(), b.getSerialNumber());
    assertEquals(a.getPublicKey(), b.getPublicKey(), "one key pair per instance");
    assertNotEquals(ca.certificate().getPublicKey(), a.getPublicKey());
    assertEquals(leaves.leafFor("a.example.test", null).key(), leaves.leafFor("b.example.test", null).key());
    assertEquals(2, leaves.misses());
    assertNotEquals(a.getPublicKey(), leaves(10).leafFor("a.example.test", null).certificate().getPublicKey(),
        "another instance, another key");
  }

  @Test
  void pastMaxEntriesTheLeastRecentlyUsedGoes() {
    LeafCertificates leaves = leaves(2);
    LeafCertificates.Leaf a = leaves.leafFor("a.example.test", null);
    LeafCertificates.Leaf b = leaves.leafFor("b.example.test", null);
    assertSame(a, leaves.leafFor("a.example.test", null)); // a is now the most recently used
    leaves.leafFor("c.example.test", null); // b goes
    assertEquals(2, leaves.size());
    assertEquals(3, leaves.misses());
    assertSame(a, leaves.leafFor("a.example.test", null));
    assertEquals(3, leaves.misses(), "a was kept");
    assertNotSame(b, leaves.leafFor("b.example.test", null));
    assertEquals(4, leaves.misses(), "b was dropped and made again");
    assertEquals(2, leaves.size());
  }

  @Test
  void aLeafExpiringWithinADayIsMadeAgain() {
    LeafCertificates leaves = leaves(10);
    LeafCertificates.Leaf first = leaves.leafFor("www.example.test", null);
    clock.now = clock.now.plus(Duration.ofDays(395));
    assertSame(first, leaves.leafFor("www.example.test", null), "two days left: kept");
    clock.now = clock.now.plus(Duration.ofDays(1)).plus(Duration.ofHours(1));
    LeafCertificates.Leaf renewed = leaves.leafFor("www.example.test", null);
    assertNotSame(first, renewed);
    assertTrue(renewed.certificate().getNotAfter().after(first.certificate().getNotAfter()));
    assertEquals(2, leaves.misses());
  }

  @Test
  void aLeafEndingWithItsOriginsIsNotMadeAgainInVain() throws Exception {
    X509Certificate origin = origin(clock.now.plus(Duration.ofDays(3)));
    LeafCertificates leaves = leaves(10);
    LeafCertificates.Leaf first = leaves.leafFor("origin.example.test", origin);
    assertEquals(origin.getNotAfter(), first.certificate().getNotAfter());
    clock.now = clock.now.plus(Duration.ofDays(2)).plus(Duration.ofHours(12));
    assertSame(first, leaves.leafFor("origin.example.test", origin), "a new one would end just as soon");
    X509Certificate renewedOrigin = origin(clock.now.plus(Duration.ofDays(90)));
    LeafCertificates.Leaf second = leaves.leafFor("origin.example.test", renewedOrigin);
    assertEquals(renewedOrigin.getNotAfter(), second.certificate().getNotAfter(), "the origin's new end: a new key");
    assertEquals(2, leaves.misses());
  }

  @Test
  void sixteenThreadsAskingForOneNewHostMakeOneLeaf() throws Exception {
    LeafCertificates leaves = leaves(10);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      for (int round = 0; round < 20; round++) {
        String host = "host" + round + ".example.test";
        CountDownLatch ready = new CountDownLatch(16);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<LeafCertificates.Leaf>> got = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          got.add(pool.submit(() -> {
            ready.countDown();
            go.await();
            return leaves.leafFor(host, null);
          }));
        }
        ready.await();
        go.countDown();
        Set<LeafCertificates.Leaf> distinct = new java.util.HashSet<>();
        for (Future<LeafCertificates.Leaf> f : got) {
          distinct.add(f.get(30, TimeUnit.SECONDS));
        }
        assertEquals(1, distinct.size(), host);
        assertEquals(round + 1, leaves.misses(), host);
        assertEquals(15 * (round + 1), leaves.hits(), host);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** An origin's certificate for origin.example.test ending at {@code notAfter}, from a throwaway CA. */
  private X509Certificate origin(Instant notAfter) throws Exception {
    java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    java.security.KeyPair kp = g.generateKeyPair();
    X500Name name = new X500Name("CN=origin.example.test");
    var b = new JcaX509v3CertificateBuilder(new X500Name("CN=Throwaway"), BigInteger.valueOf(notAfter.toEpochMilli()),
        Date.from(clock.now.minus(Duration.ofDays(1))), Date.from(notAfter), name, kp.getPublic());
    b.addExtension(Extension.subjectAlternativeName, false,
        new GeneralNames(new GeneralName(GeneralName.dNSName, "origin.example.test")));
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA")
        .build(kp.getPrivate())));
  }
}
