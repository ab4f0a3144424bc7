package io.portcullis.daemon.config;

/** The admin API: health, metrics and config endpoints. */
public record AdminConfig(
    @Doc("address of the admin API; loopback unless allowRemote") @Default("127.0.0.1:9090") HostPort listen,
    @Doc("allow a non-loopback admin.listen, served over TLS only (remote admins should use the SSH console)")
    @Default("false") boolean allowRemote,
    @Doc("the certificate the admin API serves off loopback; none: the node's own, made at first start in its data "
        + "dir (admin-tls/admin.crt: give it to the clients to trust)") Tls tls,
    @Doc("largest file an admin may import beside the config (a keytab, a PEM file, a list: file import); "
        + "1MiB style units allowed, at most 8MiB") @Default("1MiB") long maxFileSize) implements Validatable {

  /** The most {@code maxFileSize} may be: the admin API takes bodies up to 16 MiB, Base64 adds a third. */
  public static final long MAX_FILE_SIZE_LIMIT = 8L * 1024 * 1024;

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
    if (maxFileSize < 1 || maxFileSize > MAX_FILE_SIZE_LIMIT) {
      problems.add(path + ".maxFileSize", "must be between 1 and " + MAX_FILE_SIZE_LIMIT + " bytes (8MiB)");
    }
    if (!allowRemote && !listen.isLoopback()) {
      problems.add(path + ".listen", '"' + listen.toString()
          + "\" is not a loopback address (set admin.allowRemote: true to expose the admin API, over TLS)");
    }
  }
}
