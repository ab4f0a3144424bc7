package io.portcullis.daemon;

import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.Revision;
import io.portcullis.daemon.config.RevisionStore;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar portcullis-daemon.jar [--config FILE] [--data-dir DIR] [--log-dir DIR] [--check]}.
 * Exit codes: 0 stopped by SIGTERM/SIGINT or config valid ({@code --check}); 1 could not start; 2 invalid config or
 * arguments.
 */
public final class Main {
  static final int EXIT_OK = 0;
  static final int EXIT_FAILED = 1;
  static final int EXIT_INVALID = 2;

  private Main() {
  }

  /** Parsed command line. */
  record Args(Path config, Path dataDir, Path logDir, Path seed, boolean check) {
    Path effectiveDataDir() {
      if (dataDir != null) {
        return dataDir;
      }
      return config == null ? Path.of("portcullis-data")
          : config.toAbsolutePath().getParent().resolve("portcullis-data");
    }
  }

  public static void main(String[] argv) {
    Args args;
    try {
      args = parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("portcullisd: " + e.getMessage());
      System.err.println(usage());
      System.exit(EXIT_INVALID);
      return;
    }
    if (args == null) {
      System.out.println(usage());
      return;
    }
    System.exit(run(args, System.err));
  }

  static String usage() {
    return """
        usage: java -jar portcullis-daemon.jar [--config FILE] [--data-dir DIR] [--log-dir DIR] [--seed FILE] [--check]
          --config FILE   the node's portcullis.yaml (default: the newest revision in the data dir, else the
                          embedded defaults)
          --data-dir DIR  revisions, admin token, state (default: portcullis-data beside the config file, or in the
                          working directory without --config)
          --log-dir DIR   also log to DIR/portcullis.log, rolled daily and at 100 MB
          --seed FILE     unattended-install answers (KEY=value lines; PORTCULLIS_* environment variables too),
                          applied to the config once, at the first start that sees them (docs/install.md: unattended install)
          --check         validate the config, print every problem, and exit (0 valid, 2 invalid)
          --version       print the version""";
  }

  static Args parse(String[] argv) {
    Path config = null;
    Path dataDir = null;
    Path logDir = null;
    Path seed = null;
    boolean check = false;
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      switch (a) {
        case "--config", "-c" -> config = Path.of(value(argv, ++i, a));
        case "--data-dir" -> dataDir = Path.of(value(argv, ++i, a));
        case "--log-dir" -> logDir = Path.of(value(argv, ++i, a));
        case "--seed" -> seed = Path.of(value(argv, ++i, a));
        case "--check" -> check = true;
        case "--help", "-h" -> {
          return null;
        }
        case "--version" -> {
          System.out.println("portcullis " + io.portcullis.daemon.runtime.Version.get());
          System.exit(EXIT_OK);
        }
        default -> throw new IllegalArgumentException("unknown argument " + a);
      }
    }
    return new Args(config, dataDir, logDir, seed, check);
  }

  private static String value(String[] argv, int i, String flag) {
    if (i >= argv.length || argv[i].startsWith("--")) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return argv[i];
  }

  static int run(Args args, PrintStream err) {
    long inMain = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    if (args.logDir() != null) {
      // Must be set before the first logger is made: logback reads it when it configures itself.
      System.setProperty("portcullis.logDir", args.logDir().toAbsolutePath().toString());
      if (System.getProperty("logback.configurationFile") == null) { // the packages pass /etc/portcullis/logback.xml
        System.setProperty("logback.configurationFile", "logback-file.xml");
      }
    }
    System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");

    String text;
    String source;
    try {
      if (args.config() != null) {
        // The file, unless a commit recorded a newer revision and stopped before rewriting it.
        io.portcullis.daemon.config.CommitStore.Start start = io.portcullis.daemon.config.CommitStore.startText(
            args.config(), args.effectiveDataDir().resolve("revisions"));
        text = start.text();
        source = start.source();
      } else {
        Optional<String> latest = latestRevision(args.effectiveDataDir());
        text = latest.orElseGet(ConfigLoader::defaultText);
        source = latest.isPresent() ? "the newest revision in " + args.effectiveDataDir() : "embedded defaults";
      }
    } catch (IOException e) {
      err.println("portcullisd: cannot read config: " + e);
      return EXIT_INVALID;
    }
    Seed seed;
    try {
      seed = Seed.read(System.getenv(), args.seed());
      if (!seed.isEmpty() && !seed.appliedIn(args.effectiveDataDir())) {
        text = seed.applyTo(text);
        source = source + " with the unattended-install answers from " + seed.origin();
      } else {
        seed = null;
      }
    } catch (IOException | Seed.SeedException e) {
      err.println("portcullisd: unattended-install answers unusable, nothing started: " + e.getMessage());
      return EXIT_INVALID;
    }
    Config config;
    long parsing = System.nanoTime();
    try {
      config = ConfigLoader.parse(text);
      // The files it names (templates, lists, logs) must be in the config's directory, as a commit checks.
      new io.portcullis.daemon.config.ConfigFiles(args.config() != null ? args.config().toAbsolutePath().getParent()
          : Path.of("").toAbsolutePath(), args.logDir()).checked(config);
      parsing = (System.nanoTime() - parsing) / 1_000_000;
    } catch (ConfigException e) {
      err.println("portcullisd: config " + source + " is invalid, nothing started.");
      err.println(e.getMessage());
      return EXIT_INVALID;
    }
    if (args.check()) {
      err.println("portcullisd: config " + source + " is valid");
      return EXIT_OK;
    }

    if (seed != null && args.config() != null) {
      // The answers become the config file, so that a restart and `portcullis-console` see them.
      try {
        io.portcullis.daemon.config.AtomicFiles.write(args.config(), text.getBytes(StandardCharsets.UTF_8),
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----")); // it may hold password hashes
      } catch (IOException e) {
        err.println("portcullisd: cannot record the unattended-install answers: " + e);
        return EXIT_FAILED;
      }
    }
    long logging = System.nanoTime();
    Logger log = LoggerFactory.getLogger(Main.class);
    logging = (System.nanoTime() - logging) / 1_000_000;
    log.info("starting portcullis {} (node {}, config {}, data dir {})", io.portcullis.daemon.runtime.Version.get(), config.node().name(),
        source, args.effectiveDataDir().toAbsolutePath());
    // Where a slow start goes (a VM under emulation takes many times the 1-2 s of a server).
    log.info("start: main after {} ms of the JVM's own start, config parsed and checked in {} ms, logging set up in "
        + "{} ms", inMain, parsing, logging);
    Daemon daemon;
    try {
      daemon = Daemon.start(new Daemon.Options(args.effectiveDataDir(),
          args.config() == null ? null : args.config().toAbsolutePath()), text, config, source);
    } catch (Exception e) {
      log.error("portcullis could not start: {}", e.getMessage(), e);
      err.println("portcullisd: could not start: " + e.getMessage());
      return EXIT_FAILED;
    }
    if (seed != null) {
      // Marked done only once they are in a recorded revision: a start that failed applies them again (the same
      // values), a later restart does not undo what the admin changed since.
      try {
        seed.markApplied(args.effectiveDataDir());
      } catch (IOException e) {
        log.error("the unattended-install answers could not be marked as applied (they will be again): {}",
            e.toString());
      }
    }
    long sinceJvmStart = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    log.info("ready in {} ms at revision {} (admin API on {})", sinceJvmStart, daemon.commits().active().revision(),
        config.admin().listen());

    Object done = new Object();
    Runnable shutdown = () -> {
      daemon.stop();
      synchronized (done) {
        done.notifyAll();
      }
    };
    // SIGTERM and SIGINT drain and exit 0 (a shutdown hook alone would exit 143).
    for (String sig : new String[] {"TERM", "INT"}) {
      sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> {
        log.info("SIG{} received", sig);
        new Thread(() -> {
          shutdown.run();
          System.exit(EXIT_OK);
        }, "portcullis-shutdown").start();
      });
    }
    synchronized (done) {
      try {
        done.wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return EXIT_OK;
  }

  private static Optional<String> latestRevision(Path dataDir) throws IOException {
    Path dir = dataDir.resolve("revisions");
    if (!Files.isDirectory(dir)) {
      return Optional.empty();
    }
    RevisionStore store = new RevisionStore(dir);
    Optional<Revision> latest = store.latest();
    return latest.isEmpty() ? Optional.empty() : store.text(latest.get().number());
  }
}
