package io.portcullis.daemon.tls;

import io.portcullis.daemon.config.Addresses;
import io.portcullis.daemon.config.TlsConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The certificates an inspected client is shown, one per origin certificate (or per server name), signed by the
 * {@link InspectionCa} and kept for reuse. All share one key pair, made with the instance and never the CA's: a
 * signature per new host, not a key generation too.
 *
 * <p>The names come from the origin's real certificate when there is one: its DNS and IP subject alternative names
 * (its subject's CN if it has none), so a client is shown what the origin would have shown, and one leaf serves every
 * host the origin's certificate covers. When that certificate does not cover the client's server name, the leaf says
 * only what the origin's says, not the server name: the client's own name check then fails as it would against the
 * origin (the upstream verification will answer with an error page before that). Without an origin certificate, the
 * server name alone.
 *
 * <p>Kept in one LRU map under one lock: the least recently used goes past {@code maxEntries}, and a leaf expiring
 * within a day is made again if that would extend it. Every hit reorders the LRU list, so a lock is taken on every
 * lookup whatever the design; it is held for a lookup and a relink only, never while signing. A new key maps to a
 * future first, so that concurrent askers wait for one signature instead of each making their own (a per-key lock
 * stripe would need per-stripe LRU lists, an approximation of LRU; Caffeine is not a dependency).
 */
public final class LeafCertificates {
  /** A leaf certificate with the chain that follows it, and its private key: what a TLS server presents. */
  public record Leaf(List<X509Certificate> chain, PrivateKey key) {
    public Leaf {
      chain = List.copyOf(chain);
    }

    /** The leaf itself, the chain's first. */
    public X509Certificate certificate() {
      return chain.get(0);
    }

    @Override
    public String toString() {
      return "Leaf[" + certificate().getSubjectX500Principal().getName() + ", until "
          + certificate().getNotAfter().toInstant() + "]"; // never the key
    }
  }

  /** Browsers refuse server certificates valid longer (CA/B Forum baseline requirements). */
  static final Duration MAX_VALIDITY = Duration.ofDays(397);
  /** Backdated for clients whose clocks are behind. */
  static final Duration BACKDATE = Duration.ofHours(1);
  /** A leaf expiring within this is made again, if that extends it. */
  static final Duration RENEW_BEFORE = Duration.ofDays(1);
  /** Names copied from an origin's certificate at most: a hostile origin must not make us sign megabytes. */
  static final int MAX_NAMES = 1000;
  /** A DNS name as certificates carry it: labels of letters, digits, '-', '_', maybe a leading wildcard label. */
  private static final Pattern DNS = Pattern.compile("(\\*\\.)?[a-z0-9_-]{1,63}(\\.[a-z0-9_-]{1,63})*");
  private static final SecureRandom RANDOM = new SecureRandom();

  private final InspectionCa ca;
  private final KeyPair keyPair;
  private final int maxEntries;
  private final Clock clock;
  private final SubjectKeyIdentifier subjectKeyId;
  private final AuthorityKeyIdentifier authorityKeyId;
  private final KeyUsage keyUsage;
  private final Object lock = new Object();
  /** Guarded by lock; access order, so the eldest is the least recently used. */
  private final LinkedHashMap<Key, CompletableFuture<Leaf>> cache;
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private volatile TlsCounters counters; // node-wide, outliving this cache; null: none

  /** What the names and lifetime of a leaf depend on: the sorted names, the O, the origin's notAfter (null: none). */
  private record Key(List<String> names, String organization, Instant originNotAfter) {
  }

  /** The names of a leaf in its order (the first DNS name is its CN), printed sorted for its key. */
  private record Names(List<GeneralName> sans, List<String> printed) {
  }

  /** Leaves signed by {@code ca}, with the key type and cache bound of {@code config}. */
  public LeafCertificates(InspectionCa ca, TlsConfig config) {
    this(ca, config.leafKey(), config.cache().maxEntries(), Clock.systemUTC());
  }

  /** Leaves signed by {@code ca} for a {@code type} key, at most {@code maxEntries} kept, timed by {@code clock}. */
  LeafCertificates(InspectionCa ca, TlsConfig.LeafKey type, int maxEntries, Clock clock) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries " + maxEntries);
    }
    this.ca = ca;
    this.maxEntries = maxEntries;
    this.clock = clock;
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(type == TlsConfig.LeafKey.RSA ? "RSA" : "EC");
      if (type == TlsConfig.LeafKey.RSA) {
        g.initialize(2048, RANDOM);
      } else {
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      }
      this.keyPair = g.generateKeyPair();
      this.subjectKeyId = new JcaX509ExtensionUtils().createSubjectKeyIdentifier(keyPair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make the leaf key: " + e.getMessage(), e);
    }
    if (keyPair.getPublic().equals(ca.certificate().getPublicKey())) {
      throw new IllegalStateException("the leaf key is the CA's"); // a leaf key must never be able to sign leaves
    }
    this.authorityKeyId = new AuthorityKeyIdentifier(ca.keyIdentifier());
    // RSA key exchange (TLS 1.2's RSA suites) encrypts to the key: keyEncipherment; EC keys only sign.
    this.keyUsage = new KeyUsage(KeyUsage.digitalSignature
        | (type == TlsConfig.LeafKey.RSA ? KeyUsage.keyEncipherment : 0));
    this.cache = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, CompletableFuture<Leaf>> eldest) {
        return size() > LeafCertificates.this.maxEntries;
      }
    };
  }

  /**
   * The leaf for a client that asked for {@code sni} (a DNS name or IP literal; null: none) of an origin that showed
   * {@code originOrNull}: made, or the one kept; names as the class says. Blocks while another thread makes the same.
   */
  public Leaf leafFor(String sni, X509Certificate originOrNull) {
    Names names = originOrNull == null ? null : fromOrigin(originOrNull);
    if (names == null) {
      names = fromServerName(sni);
    }
    String organization = originOrNull == null ? null : organization(originOrNull);
    Instant originNotAfter = originOrNull == null ? null : originOrNull.getNotAfter().toInstant();
    Instant ceiling = ca.certificate().getNotAfter().toInstant();
    if (originNotAfter != null && originNotAfter.isBefore(ceiling)) {
      ceiling = originNotAfter;
    }
    Key key = new Key(names.printed().stream().sorted().toList(), organization, originNotAfter);
    CompletableFuture<Leaf> mine;
    CompletableFuture<Leaf> found;
    synchronized (lock) {
      found = cache.get(key);
      boolean usable = found != null && (!found.isDone()
          || !found.isCompletedExceptionally() && !renewable(found.join(), ceiling));
      if (usable) {
        mine = null;
      } else {
        mine = new CompletableFuture<>();
        cache.put(key, mine);
      }
    }
    TlsCounters node = counters;
    if (mine == null) {
      hits.increment();
      if (node != null) {
        node.certificateHits.increment();
      }
      try {
        return found.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
    misses.increment();
    if (node != null) {
      node.certificateMisses.increment();
    }
    try {
      Leaf leaf = mint(names, organization, ceiling);
      mine.complete(leaf);
      return leaf;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e); // never left pending: its waiters would wait for ever
      synchronized (lock) {
        cache.remove(key, mine); // the next asker tries again
      }
      throw e;
    }
  }

  /** Counts lookups into {@code node} too. */
  void countInto(TlsCounters node) {
    this.counters = node;
  }

  /** Lookups answered with a kept leaf, or one another thread was making. */
  public long hits() {
    return hits.sum();
  }

  /** Lookups that made a leaf: the signatures made. */
  public long misses() {
    return misses.sum();
  }

  /** The leaves kept now. */
  public int size() {
    synchronized (lock) {
      return cache.size();
    }
  }

  /** True when {@code leaf} should be made again: it expires within a day, and a new one would last longer. */
  private boolean renewable(Leaf leaf, Instant ceiling) {
    Instant notAfter = leaf.certificate().getNotAfter().toInstant();
    return notAfter.isBefore(clock.instant().plus(RENEW_BEFORE))
        && notAfter.isBefore(ceiling.truncatedTo(ChronoUnit.SECONDS));
  }

  private Leaf mint(Names names, String organization, Instant ceiling) {
    Instant now = clock.instant();
    Instant notAfter = now.plus(MAX_VALIDITY).isBefore(ceiling) ? now.plus(MAX_VALIDITY) : ceiling;
    Instant notBefore = now.minus(BACKDATE);
    if (notAfter.isBefore(notBefore)) {
      notBefore = notAfter; // an expired origin's: the leaf has expired as well, so the client says so
    }
    X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
    if (organization != null) {
      subject.addRDN(BCStyle.O, organization);
    }
    String cn = names.sans().stream().filter(n -> n.getTagNo() == GeneralName.dNSName)
        .map(n -> ((ASN1String) n.getName()).getString()).findFirst().orElse(null);
    if (cn != null && cn.length() <= 64) { // RFC 5280's upper bound on a CN
      subject.addRDN(BCStyle.CN, cn);
    }
    X500Name name = subject.build();
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.certificate(), InspectionCa.serial(),
          Date.from(notBefore), Date.from(notAfter), name, keyPair.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, keyUsage);
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      // An empty subject makes the names the certificate's only identity: then critical (RFC 5280 4.2.1.6).
      b.addExtension(Extension.subjectAlternativeName, name.getRDNs().length == 0,
          new GeneralNames(names.sans().toArray(GeneralName[]::new)));
      b.addExtension(Extension.subjectKeyIdentifier, false, subjectKeyId);
      b.addExtension(Extension.authorityKeyIdentifier, false, authorityKeyId);
      X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
          b.build(new JcaContentSignerBuilder(ca.signatureAlgorithm()).build(ca.key())));
      List<X509Certificate> chain = new ArrayList<>(List.of(leaf));
      chain.addAll(ca.chain());
      return new Leaf(chain, keyPair.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot sign a certificate for " + names.printed() + ": " + e.getMessage(), e);
    }
  }

  /** The origin certificate's DNS and IP names, else its CN; null if it gives none that can be used. */
  private static Names fromOrigin(X509Certificate origin) {
    Set<String> printed = new LinkedHashSet<>();
    List<GeneralName> sans = new ArrayList<>();
    byte[] ext = origin.getExtensionValue(Extension.subjectAlternativeName.getId());
    if (ext != null) {
      GeneralName[] all;
      try {
        all = GeneralNames.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getNames();
      } catch (IllegalArgumentException e) {
        all = new GeneralName[0]; // a malformed extension: as if it had none
      }
      for (GeneralName n : all) {
        if (sans.size() < MAX_NAMES) {
          add(n, printed, sans);
        }
      }
    }
    if (sans.isEmpty()) {
      RDN[] cns = X500Name.getInstance(origin.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.CN);
      if (cns.length > 0 && cns[cns.length - 1].getFirst().getValue() instanceof ASN1String s) {
        add(hostName(s.getString()), printed, sans); // the most specific CN, as RFC 6125 reads it
      }
    }
    return sans.isEmpty() ? null : new Names(List.copyOf(sans), List.copyOf(printed));
  }

  private static Names fromServerName(String sni) {
    List<GeneralName> sans = new ArrayList<>();
    Set<String> printed = new LinkedHashSet<>();
    if (sni != null) {
      add(hostName(sni), printed, sans);
    }
    if (sans.isEmpty()) {
      throw new IllegalArgumentException("no host name to make a certificate for: "
          + (sni == null ? "neither a server name nor an origin certificate" : "\"" + sni + "\" is not one"));
    }
    return new Names(List.copyOf(sans), List.copyOf(printed));
  }

  /** A host as a name to certify: an IP literal (brackets allowed), else a DNS name; null if neither. */
  private static GeneralName hostName(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1)
        : host.endsWith(".") ? host.substring(0, host.length() - 1) : host; // the root's dot names the same host
    try {
      if (Addresses.isIpv4Literal(h) || Addresses.isIpv6Literal(h)) {
        return new GeneralName(GeneralName.iPAddress, h);
      }
      return new GeneralName(GeneralName.dNSName, h.toLowerCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return null; // not ASCII: no DNS name
    }
  }

  /** Adds {@code n} if it is a sound DNS name or IP address not there yet. */
  private static void add(GeneralName n, Set<String> printed, List<GeneralName> sans) {
    if (n == null) {
      return;
    }
    String p = null;
    GeneralName kept = n;
    if (n.getTagNo() == GeneralName.dNSName && n.getName() instanceof ASN1String s) {
      String dns = s.getString().toLowerCase(Locale.ROOT);
      if (dns.length() <= 253 && DNS.matcher(dns).matches()) {
        p = "DNS:" + dns;
        kept = new GeneralName(GeneralName.dNSName, dns);
      }
    } else if (n.getTagNo() == GeneralName.iPAddress) {
      byte[] a = ASN1OctetString.getInstance(n.getName()).getOctets();
      if (a.length == 4 || a.length == 16) { // longer: an address with a mask, which names no host
        try {
          p = "IP:" + InetAddress.getByAddress(a).getHostAddress();
          kept = new GeneralName(GeneralName.iPAddress, new DEROctetString(a));
        } catch (UnknownHostException e) {
          throw new IllegalStateException(e); // not for 4 or 16 bytes
        }
      }
    }
    if (p != null && printed.add(p)) {
      sans.add(kept);
    }
  }

  /** The origin subject's first O, if short and printable enough to copy; else null. */
  private static String organization(X509Certificate origin) {
    RDN[] os = X500Name.getInstance(origin.getSubjectX500Principal().getEncoded()).getRDNs(BCStyle.O);
    if (os.length > 0 && os[0].getFirst().getValue() instanceof ASN1String s) {
      String o = s.getString();
      if (!o.isEmpty() && o.length() <= 64 && o.codePoints().noneMatch(Character::isISOControl)) {
        return o;
      }
    }
    return null;
  }
}
