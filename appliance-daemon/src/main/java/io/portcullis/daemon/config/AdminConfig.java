package io.portcullis.daemon.config;

/** The admin API: health, metrics and config endpoints. */
public record AdminConfig(
    @Doc("address of the admin API; loopback unless allowRemote") @Default("127.0.0.1:9090") HostPort listen,
    @Doc("allow a non-loopback admin.listen, served over TLS only (remote admins should use the SSH console)")
    @Default("false") boolean allowRemote,
    @Doc("the certificate the admin API serves off loopback; none: the node's own, made at first start in its data "
        + "dir (admin-tls/admin.crt: give it to the clients to trust)") Tls tls) implements Validatable {

  /** An admin's own certificate and key for the admin API (PEM files, relative to the config's directory). */
  public record Tls(
      @Doc("PEM certificate chain, the server's first") @OptionalKey @ConfigFile String certificate,
      @Doc("PEM private key (PKCS#8) of the certificate") @OptionalKey @ConfigFile String key)
      implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if ((certificate == null) != (key == null)) {
        problems.add(path + (certificate == null ? ".certificate" : ".key"), "is required with "
            + (certificate == null ? "key" : "certificate"));
      }
    }
  }

  /** True when the admin API is served over TLS: whenever it listens off loopback. */
  public boolean usesTls() {
    return !listen.isLoopback();
  }

  @Override
  public void validate(String path, Problems problems) {
    if (!allowRemote && !listen.isLoopback()) {
      problems.add(path + ".listen", '"' + listen.toString()
          + "\" is not a loopback address (set admin.allowRemote: true to expose the admin API, over TLS)");
    }
  }
}
