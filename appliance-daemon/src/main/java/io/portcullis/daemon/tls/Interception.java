package io.portcullis.daemon.tls;

import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.TlsConfig;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * What an inspected tunnel needs, made once per commit: the certificates shown to clients ({@link LeafCertificates}),
 * the trust origins are checked against ({@link OriginTrust}), the origins' certificates seen lately (so that a host
 * seen before needs no look at its certificate before the client's handshake) and the engines that terminate the
 * clients' TLS, each presenting the leaf minted for its host.
 */
public final class Interception {
  /** What clients and origins may speak: no TLS before 1.2. */
  public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /** The one application protocol offered to clients: HTTP/2 is not relayed. */
  public static final String[] ALPN = {"http/1.1"};
  /** A system property: true makes the clients' TLS the JDK's even where BoringSSL loads (for troubleshooting). */
  public static final String JDK_ONLY = "portcullis.tls.jdk";
  /** An origin certificate kept is looked at again this long before it expires. */
  private static final Duration RENEW_BEFORE = Duration.ofDays(1);

  private final InspectionCa ca;
  private final TlsConfig config;
  private final LeafCertificates leaves;
  private final OriginTrust trust;
  private final io.netty.handler.ssl.SslContext boringSsl; // null: the JDK's
  private final SSLContext jdk;
  private final Map<SSLEngine, String> aliases = Collections.synchronizedMap(new WeakHashMap<>());
  private final Map<String, LeafCertificates.Leaf> inHandshake = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  private static final java.util.concurrent.atomic.AtomicBoolean PROVIDER_LOGGED =
      new java.util.concurrent.atomic.AtomicBoolean();
  private final Map<String, X509Certificate> origins;
  private final TlsCounters counters;
  private final List<X509Certificate> extra; // proxy.tls.trust's certificates, as read at commit

  private Interception(InspectionCa ca, TlsConfig config, LeafCertificates leaves, OriginTrust trust,
      TlsCounters counters, List<X509Certificate> extra) throws GeneralSecurityException {
    this.counters = counters;
    this.extra = extra;
    this.ca = ca;
    this.config = config;
    this.leaves = leaves;
    this.trust = trust;
    Leaves keys = new Leaves();
    this.boringSsl = boringSsl(keys);
    if (PROVIDER_LOGGED.compareAndSet(false, true)) {
      org.slf4j.LoggerFactory.getLogger(Interception.class).info("HTTPS inspection's TLS: {}", boringSsl != null
          ? "BoringSSL (netty-tcnative)" : Boolean.getBoolean(JDK_ONLY) ? "the JDK's (-D" + JDK_ONLY + "=true)"
          : "the JDK's (BoringSSL did not load: " + io.netty.handler.ssl.OpenSsl.unavailabilityCause() + ")");
    }
    this.jdk = SSLContext.getInstance("TLS");
    jdk.init(new javax.net.ssl.KeyManager[] {keys}, null, null);
    int max = config.cache().maxEntries();
    this.origins = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, X509Certificate> eldest) {
        return size() > max;
      }
    });
  }

  /**
   * The interception of {@code config} with {@code ca}, its proxy.tls.trust files read from {@code configDir}; the
   * leaves (and their key) of {@code previous} are kept when the CA and the leaf settings are the same; lookups are
   * counted into {@code counters}.
   */
  public static Interception of(InspectionCa ca, TlsConfig config, Path configDir, Interception previous,
      TlsCounters counters) throws ConfigException {
    List<X509Certificate> extra = new ArrayList<>();
    for (int i = 0; i < config.trust().size(); i++) {
      Path file = configDir.resolve(config.trust().get(i));
      String where = TlsConfig.PATH + ".trust[" + i + "]";
      try {
        if (Files.size(file) > (1 << 22)) {
          throw problem(where, file + " is over 4 MiB: not a PEM file");
        }
        extra.addAll(OriginTrust.anchors(Files.readString(file, StandardCharsets.ISO_8859_1)));
      } catch (Pem.Unusable e) {
        throw problem(where, file + " " + e.getMessage());
      } catch (java.io.IOException e) {
        throw problem(where, file + " cannot be read (" + e.getClass().getSimpleName() + ")");
      }
    }
    if (previous != null && previous.ca == ca && previous.config.equals(config) && previous.extra.equals(extra)) {
      return previous; // nothing it is made of changed: its caches and TLS contexts stay
    }
    try {
      LeafCertificates leaves = previous != null && previous.ca == ca
          && previous.config.leafKey() == config.leafKey() && previous.config.cache().equals(config.cache())
          ? previous.leaves : new LeafCertificates(ca, config);
      leaves.countInto(counters);
      return new Interception(ca, config, leaves,
          new OriginTrust(extra, config.allowedCertificates()), counters, List.copyOf(extra));
    } catch (GeneralSecurityException e) {
      throw problem(TlsConfig.PATH, e.getMessage());
    }
  }

  private static ConfigException problem(String path, String message) {
    return new ConfigException(List.of(new io.portcullis.daemon.config.Problem(path, message, 0, 0)));
  }

  public InspectionCa ca() {
    return ca;
  }

  public LeafCertificates leaves() {
    return leaves;
  }

  public OriginTrust trust() {
    return trust;
  }

  public TlsConfig config() {
    return config;
  }

  public TlsCounters counters() {
    return counters;
  }

  /** The certificate {@code hostPort} showed last, while it is good for a day more; null: look again. */
  public X509Certificate originCertificate(String hostPort) {
    X509Certificate c = origins.get(hostPort);
    if (c != null && c.getNotAfter().toInstant().isBefore(Instant.now().plus(RENEW_BEFORE))) {
      origins.remove(hostPort);
      return null;
    }
    return c;
  }

  /** Keeps the certificate {@code hostPort} showed. */
  public void originSeen(String hostPort, X509Certificate c) {
    origins.put(hostPort, c);
  }

  /**
   * BoringSSL's TLS for clients (netty-tcnative) where its native library loads, else null: the JDK's is used. Either
   * way TLS 1.2 or 1.3, ALPN http/1.1, each engine's certificate chosen by {@code leaves}.
   */
  private static io.netty.handler.ssl.SslContext boringSsl(X509ExtendedKeyManager leaves)
      throws GeneralSecurityException {
    if (Boolean.getBoolean(JDK_ONLY) || !io.netty.handler.ssl.OpenSsl.isAvailable()) {
      return null;
    }
    try {
      return io.netty.handler.ssl.SslContextBuilder.forServer(
              new io.netty.handler.ssl.util.KeyManagerFactoryWrapper(leaves))
          .sslProvider(io.netty.handler.ssl.SslProvider.OPENSSL).protocols(PROTOCOLS)
          .applicationProtocolConfig(new io.netty.handler.ssl.ApplicationProtocolConfig(
              io.netty.handler.ssl.ApplicationProtocolConfig.Protocol.ALPN,
              io.netty.handler.ssl.ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
              io.netty.handler.ssl.ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ALPN))
          .build();
    } catch (javax.net.ssl.SSLException e) {
      throw new GeneralSecurityException("cannot make the clients' TLS: " + e.getMessage(), e);
    }
  }

  /** Which TLS library ends the clients' TLS: BoringSSL or the JDK. */
  public String provider() {
    return boringSsl != null ? "BoringSSL" : "JDK";
  }

  /**
   * A handler that ends a client's TLS showing {@code leaf} (TLS 1.2 or 1.3, ALPN http/1.1); {@link #done} with its
   * engine when its handshake is over or its connection closed.
   */
  public io.netty.handler.ssl.SslHandler handler(io.netty.buffer.ByteBufAllocator alloc, LeafCertificates.Leaf leaf) {
    SSLEngine e;
    io.netty.handler.ssl.SslHandler h;
    if (boringSsl != null) {
      h = boringSsl.newHandler(alloc);
      e = h.engine(); // the very engine the key manager is asked with
    } else {
      // The JDK's own engine, unwrapped, so that the key manager is asked with this one (Netty's JDK context wraps
      // its engines for ALPN, and the JDK asks with the inner one).
      e = jdk.createSSLEngine();
      e.setUseClientMode(false);
      SSLParameters p = e.getSSLParameters();
      p.setProtocols(PROTOCOLS);
      p.setApplicationProtocols(ALPN);
      p.setNeedClientAuth(false);
      e.setSSLParameters(p);
      h = new io.netty.handler.ssl.SslHandler(e);
    }
    String alias = "leaf-" + ids.incrementAndGet();
    inHandshake.put(alias, leaf);
    aliases.put(e, alias);
    return h;
  }

  /** Forgets the leaf {@code engine} was made to show. */
  public void done(SSLEngine engine) {
    String alias = aliases.remove(engine);
    if (alias != null) {
      inHandshake.remove(alias);
    }
  }

  /** Presents each engine's own leaf: the JDK asks by alias, so each engine gets an alias of its own. */
  private final class Leaves extends X509ExtendedKeyManager {
    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      String alias = aliases.get(engine);
      LeafCertificates.Leaf leaf = alias == null ? null : inHandshake.get(alias);
      if (leaf == null) {
        return null;
      }
      String have = leaf.key().getAlgorithm();
      boolean ec = have.equals("EC");
      // keyType names the key the suite or signature scheme needs: "EC" (or "EC_EC"), "RSA", "RSASSA-PSS"...
      boolean fits = ec ? "EC".equals(keyType) || "EC_EC".equals(keyType) : "RSA".equals(keyType);
      return fits ? alias : null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      LeafCertificates.Leaf leaf = inHandshake.get(alias);
      return leaf == null ? null : leaf.chain().toArray(new X509Certificate[0]);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      LeafCertificates.Leaf leaf = inHandshake.get(alias);
      return leaf == null ? null : leaf.key();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null; // engines only
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return null;
    }
  }
}
