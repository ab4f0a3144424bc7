package io.portcullis.daemon.console;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConsoleConfig;
import io.portcullis.daemon.config.HostPort;
import java.net.URI;
import java.nio.file.Path;

/** The SSH console's settings: its config section, and where the admin API it drives is (with its token). */
public record ConsoleSettings(ConsoleConfig config, URI admin, String token, Path dataDir) {

  /** From a whole config: the admin API is reached on loopback when it listens on every address. */
  public static ConsoleSettings of(Config c, String token, Path dataDir) {
    HostPort a = c.admin().listen();
    String host = a.host().equals("0.0.0.0") ? "127.0.0.1" : a.host().equals("::") ? "[::1]"
        : a.host().contains(":") ? "[" + a.host() + "]" : a.host();
    return new ConsoleSettings(c.console(), URI.create("http://" + host + ":" + a.port() + "/"), token, dataDir);
  }
}
