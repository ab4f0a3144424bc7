package io.portcullis.daemon.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;

/** Turns YAML text into a validated {@link Config}, and a Config back into YAML. */
public final class ConfigLoader {
  /** The commented default config shipped in the jar; what the daemon runs without --config. */
  public static final String DEFAULT_RESOURCE = "/io/portcullis/daemon/portcullis.yaml";
  private static final int MAX_CONFIG_BYTES = 64 * 1024 * 1024;

  private ConfigLoader() {
  }

  /** Parses and validates one config document; throws with every problem found. */
  public static Config parse(String yaml) throws ConfigException {
    try {
      return parse(yaml, false);
    } catch (ConfigException first) {
      // Read again with marks, so each problem names its line: marks (a Mark and an Optional per node) are 40 % of
      // what a 100 000-rule file needs in memory, and only a file with problems needs them. If that second reading
      // cannot be afforded (a huge candidate in a running daemon), the problems go out without lines.
      try {
        return parse(yaml, true);
      } catch (ConfigException positioned) {
        throw positioned;
      } catch (RuntimeException | OutOfMemoryError e) {
        throw first;
      }
    }
  }

  private static Config parse(String yaml, boolean marks) throws ConfigException {
    LoadSettings settings = LoadSettings.builder()
        .setUseMarks(marks)
        .setAllowDuplicateKeys(true) // reported by the binder, with both paths, rather than as a parse failure
        .setMaxAliasesForCollections(50)
        .setCodePointLimit(MAX_CONFIG_BYTES)
        .setLabel("portcullis.yaml")
        .build();
    Optional<Node> root;
    try {
      root = new Compose(settings).composeString(yaml);
    } catch (MarkedYamlEngineException e) {
      int line = e.getProblemMark().map(m -> m.getLine() + 1).orElse(0);
      int column = e.getProblemMark().map(m -> m.getColumn() + 1).orElse(0);
      throw new ConfigException(List.of(new Problem("", "is not valid YAML: " + e.getProblem(), line, column)));
    } catch (YamlEngineException e) {
      throw new ConfigException(List.of(new Problem("", "is not valid YAML: " + e.getMessage(), 0, 0)));
    }
    return new ConfigBinder().bind(Config.class, root.orElse(null));
  }

  /** Reads and validates a config file. */
  public static Config load(Path file) throws ConfigException, IOException {
    return parse(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** The YAML of a config, every key written, defaults included. */
  public static String write(Config config) {
    return ConfigWriter.write(config);
  }

  /** SHA-256 of the config's content (equal configs, equal digests; stable across restarts). */
  public static byte[] digest(Config config) {
    return ConfigDigest.of(config);
  }

  /** The text of the embedded default config file. */
  public static String defaultText() {
    try (InputStream in = ConfigLoader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("embedded default config " + DEFAULT_RESOURCE + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Config defaults() {
    try {
      return parse("");
    } catch (ConfigException e) {
      throw new IllegalStateException("the config records' own defaults are invalid: " + e.getMessage(), e);
    }
  }
}
