package io.portcullis.daemon.console;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConsoleConfig;
import io.portcullis.daemon.identity.LoginThrottle;
import java.net.URI;
import java.nio.file.Path;

/**
 * The SSH console's settings: its config section, where the admin API it drives is, where each session gets its
 * own token, and the failed logins counted per address (they outlive commits).
 */
public record ConsoleSettings(ConsoleConfig config, URI admin, Path adminCertificate, LoginTokens tokens,
    Path dataDir, LoginThrottle logins) {

  /**
   * From a whole config: the admin API is reached on loopback when it listens on every address, over TLS trusting
   * {@code adminCertificate} when it serves TLS (non-null), else over plain HTTP.
   */
  public static ConsoleSettings of(Config c, Path adminCertificate, LoginTokens tokens, Path dataDir,
      LoginThrottle logins) {
    return new ConsoleSettings(c.console(), URI.create((adminCertificate == null ? "http" : "https") + "://"
        + c.admin().listen().localAuthority() + "/"), adminCertificate, tokens, dataDir, logins);
  }
}
