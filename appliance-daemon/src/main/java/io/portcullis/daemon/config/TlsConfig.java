package io.portcullis.daemon.config;

import java.util.List;

/**
 * HTTPS inspection: the CA that signs the certificates the proxy shows clients in place of the origins', and how those
 * certificates are made. Whether the CA's certificate and key go together is checked where the CA is loaded (the
 * files are read then), not here: validation never reads files.
 */
public record TlsConfig(
    @Doc("decrypt CONNECT tunnels that no TLS rule tunnels or blocks, so that every rule, scan and log sees their "
        + "https requests, showing clients certificates signed by proxy.tls.ca; leave it off until every client "
        + "trusts that CA (its certificate: DATA_DIR/tls/ca.crt, or the admin's)") @Default("false")
    boolean inspect,
    @Doc("the admin's own CA (or a subordinate CA of the company PKI) that signs the certificates; none: the node's "
        + "own, made at first need in its data dir (tls/ca.crt) and kept") Ca ca,
    @Doc("PEM files of CAs trusted for origins besides the system's store (relative to the config's directory)")
    @ConfigFile List<String> trust,
    @Doc("SHA-256 fingerprints (hex; colons optional) of origin certificates accepted although they fail "
        + "verification (self-signed appliances of your own, say): inspected as if trusted")
    List<String> allowedCertificates,
    @Doc("the key type of the certificates shown to clients: ecdsa (P-256) or rsa (2048 bits, for old clients)")
    @Default("ecdsa") LeafKey leafKey,
    @Doc("the certificates made per host, kept for reuse") Cache cache,
    @Doc("a CONNECT tunnel whose first bytes are not a TLS ClientHello (or that sends nothing within helloTimeout): "
        + "block (close it, as Squid's on_unsupported_protocol) or tunnel (pass the bytes)") @Default("block")
    NonTls onNonTls,
    @Doc("a ClientHello with Encrypted ClientHello (ECH): judge (by its outer server name, as any other; browsers "
        + "send ECH to every site, a decoy when the site has none; inspected, a client with real ECH gets no ECH "
        + "from this proxy and retries without it, so the real name is seen) or block (close every such tunnel: "
        + "that blocks today's browsers everywhere)") @Default("judge") OnEch onEch,
    @Doc("how long a client has, once its tunnel is open, to send its whole ClientHello") @Default("10s")
    java.time.Duration helloTimeout,
    @Doc("the largest ClientHello read, bytes; a larger one closes the tunnel") @Default("65536") int maxHelloBytes)
    implements Validatable {

  /** What a tunnel that does not start with TLS gets. */
  public enum NonTls { BLOCK, TUNNEL }

  /** What a ClientHello with Encrypted ClientHello gets. */
  public enum OnEch { JUDGE, BLOCK }

  @Override
  public void validate(String path, Problems problems) {
    problems.between(path + ".maxHelloBytes", maxHelloBytes, 1024, 1024 * 1024);
    if (helloTimeout.toMillis() < 100) {
      problems.add(path + ".helloTimeout", "must be at least 100ms");
    }
    for (int i = 0; i < allowedCertificates.size(); i++) {
      if (!allowedCertificates.get(i).matches("(?i)[0-9a-f]{2}(:?[0-9a-f]{2}){31}")) {
        problems.add(path + ".allowedCertificates[" + i + "]", "must be a SHA-256 fingerprint: 64 hex digits, "
            + "in pairs optionally separated by colons");
      }
    }
  }

  /** Where the section sits in the config: problems found when the CA is loaded are reported under it. */
  public static final String PATH = "proxy.tls";

  /** The key type of the certificates made per host. */
  public enum LeafKey { ECDSA, RSA }

  /** An admin's CA: PEM files relative to the config's directory. */
  public record Ca(
      @Doc("PEM certificate of the admin's CA, or of a subordinate CA of the company PKI (its chain may follow: sent "
          + "to clients after it); none: the node's own, made at first need in DATA_DIR/tls and kept")
      @OptionalKey @ConfigFile String certificate,
      @Doc("PEM private key of the CA, unencrypted: PKCS#8 (PRIVATE KEY), EC PRIVATE KEY or RSA PRIVATE KEY; keep it "
          + "readable by the daemon's user only") @OptionalKey @ConfigFile String key) implements Validatable {

    /** True when the admin names a CA; false: the node's own is used. */
    public boolean configured() {
      return certificate != null && key != null;
    }

    @Override
    public void validate(String path, Problems problems) {
      if ((certificate == null) != (key == null)) {
        problems.add(path + (certificate == null ? ".certificate" : ".key"), "is required with "
            + (certificate == null ? "key" : "certificate"));
      }
    }
  }

  /** The per-host certificates kept for reuse. */
  public record Cache(
      @Doc("certificates kept at most; past it the least recently used is dropped (made again when next needed)")
      @Default("10000") int maxEntries) implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      problems.between(path + ".maxEntries", maxEntries, 1, 1_000_000);
    }
  }
}
