package io.portcullis.daemon.tls;

import java.net.IDN;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Whether an origin's certificate may be trusted on the users' behalf: its chain ends at a CA of the system's store
 * or of proxy.tls.trust, it is valid now, and it names the host asked for. A failure says why in words a user can
 * act on ({@link Reason}); a certificate whose SHA-256 fingerprint is in proxy.tls.allowedCertificates passes
 * whatever is wrong with it. Revocation is not checked (as browsers, which use their own lists, do not by OCSP).
 */
public final class OriginTrust extends X509ExtendedTrustManager {
  /** Why an origin's certificate was not trusted. */
  public enum Reason {
    SELF_SIGNED("self-signed"), EXPIRED("expired"), NOT_YET_VALID("not yet valid"), WRONG_NAME("wrong name"),
    UNKNOWN_CA("unknown CA"), INVALID("invalid");

    private final String words;

    Reason(String words) {
      this.words = words;
    }

    /** The reason as error pages, logs and metrics say it. */
    public String words() {
      return words;
    }
  }

  /** An origin certificate refused, with the reason; found in the cause chain of the failed handshake. */
  public static final class Untrusted extends CertificateException {
    private final Reason reason;

    Untrusted(Reason reason, String detail) {
      super(reason.words() + ": " + detail);
      this.reason = reason;
    }

    public Reason reason() {
      return reason;
    }

    /** The refusal in {@code t}'s cause chain, or null when the failure was something else. */
    public static Untrusted in(Throwable t) {
      for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
        if (t instanceof Untrusted u) {
          return u;
        }
      }
      return null;
    }
  }

  private final X509TrustManager pkix;
  private final Set<String> allowed;

  /**
   * Trusts the system's CAs plus {@code extra}; {@code allowedFingerprints}: SHA-256 fingerprints (hex, colons and
   * case free) of origin certificates accepted as they are.
   */
  public OriginTrust(List<X509Certificate> extra, Collection<String> allowedFingerprints)
      throws GeneralSecurityException {
    KeyStore anchors = KeyStore.getInstance(KeyStore.getDefaultType());
    try {
      anchors.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    int n = 0;
    for (X509Certificate c : systemAnchors()) {
      anchors.setCertificateEntry("system-" + n++, c);
    }
    for (X509Certificate c : extra) {
      anchors.setCertificateEntry("extra-" + n++, c);
    }
    TrustManagerFactory f = TrustManagerFactory.getInstance("PKIX");
    f.init(anchors);
    X509TrustManager found = null;
    for (var tm : f.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        found = x;
      }
    }
    this.pkix = found;
    this.allowed = allowedFingerprints.stream().map(OriginTrust::normalize).collect(java.util.stream.Collectors
        .toUnmodifiableSet());
  }

  private static X509Certificate[] system; // the JDK's trust store, read once: every commit makes an OriginTrust

  /** The CAs of the JDK's trust store (Debian keeps it in step with ca-certificates), read at first need. */
  private static synchronized X509Certificate[] systemAnchors() throws GeneralSecurityException {
    if (system == null) {
      TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init((KeyStore) null);
      List<X509Certificate> all = new ArrayList<>();
      for (var tm : f.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          all.addAll(List.of(x.getAcceptedIssuers()));
        }
      }
      system = all.toArray(new X509Certificate[0]);
    }
    return system;
  }

  /** A fingerprint as compared: hex digits only, upper case. */
  public static String normalize(String fingerprint) {
    return fingerprint.replaceAll("[^0-9A-Fa-f]", "").toUpperCase(Locale.ROOT);
  }

  /** Checks {@code chain} (the origin's, leaf first) for a connection to {@code host}; throws {@link Untrusted}. */
  public void check(X509Certificate[] chain, String host) throws Untrusted {
    if (chain == null || chain.length == 0) {
      throw new Untrusted(Reason.INVALID, "the origin sent no certificate");
    }
    X509Certificate leaf = chain[0];
    if (!allowed.isEmpty() && allowed.contains(normalize(Pem.fingerprint(leaf)))) {
      return; // the admin vouched for this very certificate (proxy.tls.allowedCertificates)
    }
    try {
      leaf.checkValidity();
    } catch (CertificateExpiredException e) {
      throw new Untrusted(Reason.EXPIRED, "it expired on " + leaf.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new Untrusted(Reason.NOT_YET_VALID, "it is valid from " + leaf.getNotBefore().toInstant());
    }
    try {
      pkix.checkServerTrusted(chain, leaf.getPublicKey().getAlgorithm().equals("EC") ? "ECDHE_ECDSA" : "ECDHE_RSA");
    } catch (CertificateException e) {
      if (chain.length == 1 && leaf.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
        throw new Untrusted(Reason.SELF_SIGNED, "issued by itself (" + leaf.getSubjectX500Principal().getName() + ")");
      }
      if (expiredInChain(chain)) {
        throw new Untrusted(Reason.EXPIRED, "a certificate of its chain expired");
      }
      throw new Untrusted(Reason.UNKNOWN_CA, "issued by " + chain[chain.length - 1].getIssuerX500Principal().getName()
          + ", a CA this proxy does not trust");
    }
    if (host == null) {
      throw new Untrusted(Reason.WRONG_NAME, "no host name to check it against"); // never trusted unchecked
    }
    if (!names(leaf, host)) {
      throw new Untrusted(Reason.WRONG_NAME, "it is not for " + host);
    }
  }

  private static boolean expiredInChain(X509Certificate[] chain) {
    for (X509Certificate c : chain) {
      try {
        c.checkValidity();
      } catch (CertificateException e) {
        return true;
      }
    }
    return false;
  }

  /**
   * True when {@code cert} is for {@code host} (RFC 6125): its DNS names, a wildcard standing for one whole left-most
   * label; an IP address only by an IP address name. The subject's CN is not read (CA/B: names are in the SAN).
   */
  static boolean names(X509Certificate cert, String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    boolean ip = h.indexOf(':') >= 0 || h.matches("[0-9.]+");
    Collection<List<?>> sans;
    try {
      sans = cert.getSubjectAlternativeNames();
    } catch (CertificateParsingException e) {
      return false;
    }
    if (sans == null) {
      return false;
    }
    String ascii;
    try {
      ascii = ip ? h : IDN.toASCII(h, IDN.ALLOW_UNASSIGNED);
    } catch (IllegalArgumentException e) {
      return false;
    }
    for (List<?> san : sans) {
      int type = (Integer) san.get(0);
      String value = String.valueOf(san.get(1)).toLowerCase(Locale.ROOT);
      if (ip && type == 7 && sameAddress(value, ascii)) {
        return true;
      }
      if (!ip && type == 2 && dnsMatches(value, ascii)) {
        return true;
      }
    }
    return false;
  }

  private static boolean sameAddress(String a, String b) {
    byte[] x = io.portcullis.daemon.rules.CidrMatcher.literal(a);
    return x != null && java.util.Arrays.equals(x, io.portcullis.daemon.rules.CidrMatcher.literal(b));
  }

  private static boolean dnsMatches(String pattern, String host) {
    if (pattern.endsWith(".")) {
      pattern = pattern.substring(0, pattern.length() - 1);
    }
    if (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (!pattern.startsWith("*.")) {
      return pattern.equals(host);
    }
    int dot = host.indexOf('.');
    // One whole label, never a public suffix alone (*.com): the rest must have a dot itself.
    return dot > 0 && pattern.substring(2).indexOf('.') > 0 && host.substring(dot + 1).equals(pattern.substring(2));
  }

  /** The host the engine's handshake is for: the SNI it sends, else the peer host it was made for. */
  private static String hostOf(SSLEngine engine) {
    if (engine == null) {
      return null;
    }
    List<SNIServerName> names = engine.getSSLParameters().getServerNames();
    if (names != null) {
      for (SNIServerName n : names) {
        if (n instanceof SNIHostName h) {
          return h.getAsciiName();
        }
      }
    }
    return engine.getPeerHost();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws Untrusted {
    check(chain, hostOf(engine));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws Untrusted {
    check(chain, null);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws Untrusted {
    check(chain, null);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
    throw new CertificateException("origins are servers");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    throw new CertificateException("origins are servers");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    throw new CertificateException("origins are servers");
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0]; // no client certificate is offered to origins
  }

  /** The CA certificates in a PEM file's text (proxy.tls.trust); none is an error. */
  static List<X509Certificate> anchors(String pem) throws Pem.Unusable {
    List<X509Certificate> certs = new ArrayList<>(Pem.certificates(pem));
    if (certs.isEmpty()) {
      throw new Pem.Unusable("holds no certificate");
    }
    return certs;
  }
}
