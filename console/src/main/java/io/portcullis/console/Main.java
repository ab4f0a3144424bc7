package io.portcullis.console;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code portcullis-console [options] [COMMAND | -c LINE]}: the console, locally. No command: the interactive shell
 * on a terminal, else one command line per line of stdin; a COMMAND or LINE runs through the same command table.
 * Exit codes: 0 done; 1 the daemon refused or is unreachable; 2 bad usage.
 */
public final class Main {
  static final String USAGE = "usage: portcullis-console [--admin URL] [--token-file FILE | --data-dir DIR]"
      + " [COMMAND | -c \"LINE\"]\n"
      + "  (no command: the interactive shell on a terminal, else one command line per line of stdin)\n"
      + Commands.help(Command.Mode.OPERATIONAL, false, 118) + "\n"
      + "in configuration mode (after configure):\n"
      + Commands.help(Command.Mode.CONFIGURATION, false, 118) + "\n"
      + """
      options:
        --admin URL        the admin API (default: DATA_DIR/admin.url, else http://127.0.0.1:9090)
        --token-file FILE  the admin token (default: DATA_DIR/admin.token)
        --data-dir DIR     the daemon's data dir (default: $PORTCULLIS_DATA_DIR, /var/lib/portcullis if it has a
                           token, else ./portcullis-data)""";

  private final PrintStream out;
  private final PrintStream err;
  private boolean remote;

  /** A console printing to {@code out}, errors to {@code err}. */
  public Main(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /**
   * Marks a console the daemon serves over SSH: commands that read files or stdin in the daemon's process
   * ({@code load}, {@code commit file}, {@code passwd}) are refused there, so a console user cannot read the
   * daemon's files (its token, its host key).
   */
  public Main remote(boolean remote) {
    this.remote = remote;
    return this;
  }

  /** The console's command line; exits with the command's code. */
  public static void main(String[] args) {
    System.exit(new Main(System.out, System.err).run(args));
  }

  /** Runs the console with command-line {@code argv}; returns the exit code. */
  public int run(String[] argv) {
    URI admin = null;
    Path tokenFile = null;
    Path dataDir = null;
    List<String> words = new ArrayList<>();
    String line = null;
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "-c" -> {
          if (++i >= argv.length) {
            return usage("-c needs a command line");
          }
          line = argv[i];
        }
        case "--admin" -> {
          if (++i >= argv.length) {
            return usage("--admin needs a URL");
          }
          admin = URI.create(argv[i].endsWith("/") ? argv[i] : argv[i] + "/");
        }
        case "--token-file" -> {
          if (++i >= argv.length) {
            return usage("--token-file needs a file");
          }
          tokenFile = Path.of(argv[i]);
        }
        case "--data-dir" -> {
          if (++i >= argv.length) {
            return usage("--data-dir needs a directory");
          }
          dataDir = Path.of(argv[i]);
        }
        case "--help", "-h" -> {
          out.println(USAGE);
          return 0;
        }
        default -> words.add(argv[i]);
      }
    }
    if (withoutDaemon(words)) {
      try {
        return oneShot(null, words);
      } catch (IOException | InterruptedException e) {
        err.println("portcullis-console: " + e.getMessage());
        return 1;
      }
    }
    if (tokenFile == null) {
      tokenFile = defaultDataDir(dataDir).resolve("admin.token");
    }
    String token;
    try {
      token = Files.readString(tokenFile, StandardCharsets.US_ASCII).strip();
    } catch (IOException e) {
      err.println("portcullis-console: cannot read the admin token " + tokenFile + ": " + e.getMessage()
          + " (run as the daemon's user, or give --token-file)");
      return 1;
    }
    javax.net.ssl.SSLContext tls = null;
    Path data = tokenFile.toAbsolutePath().getParent();
    try {
      if (admin == null) {
        // Where the daemon says its admin API is (it writes admin.url beside the token), else the default.
        Path url = data.resolve("admin.url");
        admin = URI.create(Files.exists(url) ? Files.readString(url, StandardCharsets.US_ASCII).strip()
            : "http://127.0.0.1:9090/");
      }
      Path cert = data.resolve("admin-tls/served.crt"); // the certificate the daemon serves, its own or the admin's
      if ("https".equals(admin.getScheme()) && Files.exists(cert)) {
        tls = AdminClient.trusting(cert); // the node's own certificate; an admin's own is in the JDK's trust
      }
    } catch (IOException | java.security.GeneralSecurityException | IllegalArgumentException e) {
      err.println("portcullis-console: cannot reach the admin API: " + e.getMessage());
      return 1;
    }
    AdminClient client = new AdminClient(admin, token, System.getProperty("user.name", "console"), null, tls);
    try {
      if (line != null) {
        return lines(client, List.of(line));
      }
      if (words.isEmpty()) {
        if (System.console() != null) {
          try (org.jline.terminal.Terminal t = org.jline.terminal.TerminalBuilder.builder().system(true).build()) {
            return new Interactive(client, t, Path.of(System.getProperty("user.home"), ".portcullis_history"),
                System.getProperty("user.name", "admin")).run();
          }
        }
        return lines(client, new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
            StandardCharsets.UTF_8)).lines().toList());
      }
      return oneShot(client, words);
    } catch (IllegalArgumentException e) {
      return usage(e.getMessage());
    } catch (ConnectException e) {
      err.println("portcullis-console: the daemon's admin API at " + admin + " is not reachable");
      return 1;
    } catch (IOException e) {
      err.println("portcullis-console: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  /**
   * Runs command lines in one shell (so {@code configure} … {@code commit} work in a script); stops at the first that
   * fails and returns its exit code. Blank lines and lines starting with # are skipped.
   */
  public int lines(AdminClient client, List<String> lines) throws IOException, InterruptedException {
    Shell shell = new Shell(client, out, err, remote);
    try {
      return shell.script(lines);
    } finally {
      shell.close();
    }
  }

  /** Runs one command given as arguments (its words as the shell would split them); exit leaves with 0. */
  private int oneShot(AdminClient client, List<String> words) throws IOException, InterruptedException {
    Shell shell = new Shell(client, out, err, remote);
    try {
      int code = shell.execute(words);
      return code == Shell.EXIT ? 0 : code;
    } finally {
      shell.close();
    }
  }

  /** Whether {@code words} name a command that needs no daemon (hash-password): no token is read for it. */
  private static boolean withoutDaemon(List<String> words) {
    Commands.Match m = words.isEmpty() ? null : Commands.lookup(Command.Mode.OPERATIONAL, words);
    return m != null && m.command().runs() == Command.Runs.WITHOUT_DAEMON;
  }

  /** The data dir: {@code given}, $PORTCULLIS_DATA_DIR, /var/lib/portcullis with a token, or ./portcullis-data. */
  static Path defaultDataDir(Path given) {
    if (given != null) {
      return given;
    }
    String env = System.getenv("PORTCULLIS_DATA_DIR");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    Path system = Path.of("/var/lib/portcullis");
    return Files.exists(system.resolve("admin.token")) ? system : Path.of("portcullis-data");
  }

  /** Reports a bad option with the usage; 2. */
  private int usage(String why) {
    err.println("portcullis-console: " + why);
    err.println(USAGE);
    return 2;
  }
}
