package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code portcullis-console [options] COMMAND}: the node's configuration commands, one per call. The commands keep
 * the names of the interactive console's (Junos style): show, load, compare, commit, confirm, rollback.
 * Exit codes: 0 done; 1 the daemon refused or is unreachable; 2 bad usage.
 */
public final class Main {
  static final String USAGE = """
      usage: portcullis-console [--admin URL] [--token-file FILE | --data-dir DIR] [COMMAND | -c "LINE"]
        (no command: the interactive shell on a terminal, else one command per line from stdin;
         configure, set, delete, insert, commit ... work there as in the shell: `help` lists them)
        show status                     node, revision, services and their ports
        show config                     the active config (YAML)
        show candidate                  the candidate config (YAML)
        show revisions                  the revisions kept, newest last
        show revision N                 the config of revision N
        show balancer                   the balancer's frontends and servers: state, connections, checks
        show balancer haproxy [FRONTEND ...]
                                        the balancer's layout as a haproxy.cfg (all frontends: one HAProxy;
                                        one frontend per file: HTTP and ICAP on separate HAProxies)
        load FILE                       make FILE's content the candidate (checked, not applied)
        compare [N]                     diff from revision N (default: active) to the candidate
        commit check                    validate the candidate
        commit [confirmed MINUTES] [comment TEXT]
                                        validate, apply and record the candidate; with confirmed, the previous
                                        revision comes back unless `confirm` follows within MINUTES
        commit file FILE [comment TEXT] load FILE and commit it (what `systemctl reload` runs)
        confirm                         keep a commit confirmed
        rollback N                      make revision N the candidate (then commit)
        discard                         drop the candidate's changes
        passwd USER                     set a console user's password (asked twice on a terminal, else one line
                                        from stdin), stored as a PBKDF2 hash and committed
        hash-password                   print the PBKDF2 hash of a password (read as for passwd), for the
                                        unattended-install answer PORTCULLIS_ADMIN_PASSWORD_HASH; needs no daemon
      options:
        --admin URL        the admin API (default http://127.0.0.1:9090)
        --token-file FILE  the admin token (default: DATA_DIR/admin.token)
        --data-dir DIR     the daemon's data dir (default: $PORTCULLIS_DATA_DIR, /var/lib/portcullis if it has a
                           token, else ./portcullis-data)""";

  private final PrintStream out;
  private final PrintStream err;
  private boolean remote;

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

  public static void main(String[] args) {
    System.exit(new Main(System.out, System.err).run(args));
  }

  /** Runs one command; returns the exit code. */
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
    if (words.equals(List.of("hash-password"))) {
      try {
        return hashPassword();
      } catch (IOException e) {
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
      return execute(client, words);
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
    org.jline.reader.impl.DefaultParser parser = new org.jline.reader.impl.DefaultParser();
    parser.setEscapeChars(new char[0]);
    try {
      for (String l : lines) {
        if (l.isBlank() || l.strip().startsWith("#")) {
          continue;
        }
        List<String> w;
        try {
          w = parser.parse(l, l.length()).words().stream().filter(x -> !x.isEmpty()).toList();
        } catch (org.jline.reader.EOFError e) {
          err.println("error: unbalanced quotes in: " + l);
          return 2;
        }
        int code = shell.execute(w);
        if (code == Shell.EXIT) {
          break;
        }
        if (code != 0) {
          return code;
        }
      }
      return 0;
    } finally {
      shell.close();
    }
  }

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

  private int usage(String why) {
    err.println("portcullis-console: " + why);
    err.println(USAGE);
    return 2;
  }

  int execute(AdminClient c, List<String> w) throws IOException, InterruptedException {
    String cmd = w.get(0);
    List<String> rest = w.subList(1, w.size());
    if (remote && (cmd.equals("load") || cmd.equals("passwd") || (cmd.equals("commit") && rest.contains("file")))) {
      err.println("error: " + cmd + (cmd.equals("commit") ? " file" : "") + " is not available over SSH (it would "
          + "read the node's files); use configure, set and commit");
      return 1;
    }
    switch (cmd) {
      case "show":
        return show(c, rest);
      case "load":
        if (rest.size() != 1) {
          return usage("load needs a FILE");
        }
        return load(c, Path.of(rest.get(0)));
      case "compare": {
        String q = rest.isEmpty() ? "api/v1/compare" : "api/v1/compare?revision=" + number(rest.get(0));
        return print(c.get(q), a -> {
          String diff = a.body().path("diff").asText();
          out.print(diff.isEmpty() ? "no differences\n" : diff);
        });
      }
      case "commit":
        return commit(c, rest);
      case "confirm":
        return print(c.send("POST", "api/v1/commit/confirm", null),
            a -> out.println("commit confirmed: revision " + a.body().path("revision").asInt() + " kept"));
      case "rollback":
        if (rest.size() != 1) {
          return usage("rollback needs a revision number");
        }
        return print(c.send("POST", "api/v1/rollback",
                AdminClient.JSON.createObjectNode().put("revision", number(rest.get(0)))),
            a -> {
              out.println("revision " + rest.get(0) + " is the candidate; `commit` to put it into effect");
              problems(a.body(), out);
            });
      case "discard":
        return print(c.send("DELETE", "api/v1/candidate", null), a -> out.println("candidate discarded"));
      case "passwd":
        if (rest.size() != 1) {
          return usage("passwd USER");
        }
        return passwd(c, rest.get(0));
      default:
        return usage("unknown command " + cmd);
    }
  }

  private int show(AdminClient c, List<String> rest) throws IOException, InterruptedException {
    String what = rest.isEmpty() ? "" : rest.get(0);
    switch (what) {
      case "status":
        return print(c.get("api/v1/status"), a -> status(a.body()));
      case "config":
        return print(c.get("api/v1/config"), a -> out.print(a.body().path("yaml").asText()));
      case "candidate":
        return print(c.get("api/v1/candidate"), a -> out.print(a.body().path("yaml").asText()));
      case "revisions":
        return print(c.get("api/v1/revisions"), a -> {
          for (JsonNode r : a.body().path("revisions")) {
            out.printf("%s %5d  %s  %-12s %s%n", r.path("active").asBoolean() ? "*" : " ", r.path("revision").asInt(),
                r.path("time").asText(), r.path("author").asText(), r.path("message").asText());
          }
        });
      case "revision":
        if (rest.size() != 2) {
          return usage("show revision needs a number");
        }
        return print(c.get("api/v1/revisions/" + number(rest.get(1))), a -> out.print(a.body().path("yaml").asText()));
      case "cluster":
        if (rest.size() == 3 && rest.get(1).equals("join-key")) {
          return print(c.get("api/v1/cluster/join-key?node=" + java.net.URLEncoder.encode(rest.get(2),
              StandardCharsets.UTF_8)), a -> {
                out.println("on node " + rest.get(2) + ", with cluster.role node and cluster.control set:");
                out.println("  set cluster joinKey " + a.body().path("joinKey").asText());
                out.println("  set cluster caFingerprint " + a.body().path("caFingerprint").asText()
                    + "   (optional: join only this CA)");
              });
        }
        if (rest.size() != 1) {
          return usage("show cluster [join-key NODE]");
        }
        return print(c.get("api/v1/cluster"), a -> cluster(a.body(), out));
      case "balancer":
        if (rest.size() >= 2 && rest.get(1).equals("haproxy")) {
          StringBuilder q = new StringBuilder("api/v1/balancer/haproxy.cfg");
          for (int i = 2; i < rest.size(); i++) {
            q.append(i == 2 ? '?' : '&').append("frontend=")
                .append(java.net.URLEncoder.encode(rest.get(i), StandardCharsets.UTF_8));
          }
          java.net.http.HttpResponse<String> r = c.text(q.toString());
          if (r.statusCode() / 100 == 2) {
            out.print(r.body());
            return 0;
          }
          err.println("error: " + AdminClient.JSON.readTree(r.body()).path("error").asText("HTTP " + r.statusCode()));
          return 1;
        }
        if (rest.size() != 1) {
          return usage("show balancer [haproxy [FRONTEND ...]]");
        }
        return print(c.get("api/v1/balancer"), a -> balancer(a.body()));
      default:
        return usage("show what? status, config, candidate, revisions, revision N, balancer, cluster");
    }
  }

  /** {@code show cluster}: the role; on a control node each node's state and revision, on a node its link. */
  static void cluster(JsonNode c, PrintStream out) {
    String role = c.path("role").asText();
    if (role.equals("control")) {
      out.printf("control node on %s, revision %d, cluster CA %s%n", c.path("listen").asText(),
          c.path("revision").asInt(), c.path("ca").asText());
      if (!c.has("nodes")) {
        return; // show status: the line above; show cluster lists the nodes
      }
      out.printf("  %-16s %-18s %-12s %8s %-6s  %s%n", "node", "address", "state", "revision", "ready", "last seen");
      for (JsonNode n : c.path("nodes")) {
        out.printf("  %-16s %-18s %-12s %8s %-6s  %s%s%n", n.path("name").asText(), n.path("address").asText(),
            n.path("state").asText(), n.has("revision") ? n.path("revision").asText() : "-",
            n.has("ready") ? (n.path("ready").asBoolean() ? "yes" : "no") : "-", n.path("lastSeen").asText("-"),
            (n.has("reason") ? "  (" + n.path("reason").asText() + ")" : "")
                + (n.path("localChanges").asBoolean() ? "  (forced local changes)" : ""));
      }
      if (c.path("nodes").isEmpty()) {
        out.println("  no nodes: add them with set cluster nodes NAME address HOST, then show cluster join-key NAME");
      }
    } else if (role.equals("node")) {
      out.printf("node of the control node at %s: %s, control revision %d, last contact %s%s%n",
          c.path("control").asText(), c.path("state").asText(), c.path("revision").asInt(),
          c.path("lastContact").asText("never"), c.has("reason") ? "  (" + c.path("reason").asText() + ")" : "");
    } else {
      out.println("standalone: this node is not in a cluster (cluster.role)");
    }
  }

  /** After a commit on a control node: which nodes took the revision, which did not within cluster.commitWait. */
  static void nodesReport(JsonNode answer, PrintStream out) {
    JsonNode n = answer.path("nodes");
    if (n.isMissingNode()) {
      return;
    }
    int total = n.path("total").asInt();
    List<String> late = new ArrayList<>();
    n.path("laggards").forEach(x -> late.add(x.asText()));
    if (late.isEmpty()) {
      out.println("all " + total + " nodes have revision " + answer.path("revision").asInt());
    } else {
      out.println("warning: " + (total - late.size()) + " of " + total + " nodes have revision "
          + answer.path("revision").asInt() + "; not within " + n.path("waited").asLong() / 1000 + " s: "
          + String.join(", ", late) + " (they take it when they come back; see show cluster)");
    }
  }

  private void balancer(JsonNode b) {
    if (b.has("nodes")) {
      b.path("nodes").fields().forEachRemaining(e -> {
        out.println("[node " + e.getKey() + ", reported " + e.getValue().path("lastSeen").asText() + "]");
        balancer(e.getValue());
      });
      out.println("[this node]");
    }
    if (!b.path("enabled").asBoolean()) {
      out.println("the balancer is disabled");
      return;
    }
    for (JsonNode f : b.path("frontends")) {
      out.printf("frontend %s  %s  %s  %s  %d client connections%n", f.path("name").asText(),
          f.path("listen").asText(), f.path("mode").asText(), f.path("method").asText(), f.path("clients").asInt());
      out.printf("  %-12s %-22s %-6s %6s %6s %10s %8s  %s%n", "server", "address", "state", "weight", "active",
          "total", "errors", "last check");
      for (JsonNode s : f.path("servers")) {
        out.printf("  %-12s %-22s %-6s %6s %6d %10d %8d  %s%n", s.path("name").asText(),
            s.path("address").asText(), s.path("state").asText(),
            s.path("weight").asInt() + (s.path("backup").asBoolean() ? "b" : ""), s.path("active").asInt(),
            s.path("total").asLong(), s.path("errors").asLong(), s.path("check").path("last").asText());
      }
    }
  }

  private void status(JsonNode s) {
    out.printf("node %s, version %s, revision %d, up %ds%n", s.path("node").asText(), s.path("version").asText(),
        s.path("revision").asInt(), s.path("uptimeSeconds").asLong());
    s.path("services").fields().forEachRemaining(e -> {
      JsonNode v = e.getValue();
      out.printf("  %-9s %-10s %s%s%n", e.getKey(), v.path("state").asText(), v.path("address").asText(""),
          v.has("reason") ? "  (" + v.path("reason").asText() + ")" : "");
    });
    if (s.has("cluster")) {
      cluster(s.path("cluster"), out);
    }
    if (s.has("pendingConfirm")) {
      JsonNode p = s.path("pendingConfirm");
      out.printf("commit confirmed pending: revision %d reverts to %d at %s unless confirmed%n",
          p.path("revision").asInt(), p.path("revertsTo").asInt(), p.path("deadline").asText());
    }
  }

  /** Sets USER's console password: the hash is made here, so the password never reaches the daemon or a log. */
  private int passwd(AdminClient c, String user) throws IOException, InterruptedException {
    char[] password = readNewPassword("New password for " + user + ": ");
    if (password == null) {
      return 1;
    }
    String hash = PasswordHash.make(password);
    java.util.Arrays.fill(password, ' ');
    List<String> script = new java.util.ArrayList<>(List.of("configure",
        "set console users " + user + " passwordHash " + hash));
    if (!consoleUserExists(c, user)) {
      // A user made here, by whoever may read the node's token, is the node's administrator; others get roles later.
      script.add("set console users " + user + " role admin");
    }
    script.addAll(List.of("commit comment password of console user " + user, "exit"));
    return lines(c, script);
  }

  private static boolean consoleUserExists(AdminClient c, String user) throws IOException, InterruptedException {
    AdminClient.Answer a = c.send("GET", "api/v1/config?format=set", null);
    if (!a.ok()) {
      throw new IOException("cannot read the config: " + a.body());
    }
    for (JsonNode line : a.body().path("set")) {
      if (line.asText().startsWith("set console users " + user + " ")) {
        return true;
      }
    }
    return false;
  }

  /** Prints the hash of a new password, for unattended-install answers (PORTCULLIS_ADMIN_PASSWORD_HASH). */
  private int hashPassword() throws IOException {
    char[] password = readNewPassword("Password: ");
    if (password == null) {
      return 1;
    }
    out.println(PasswordHash.make(password));
    java.util.Arrays.fill(password, ' ');
    return 0;
  }

  /** A new password: asked twice on a terminal, else one line of stdin; null (reported) when unusable. */
  private char[] readNewPassword(String prompt) throws IOException {
    char[] password;
    java.io.Console tty = System.console();
    if (tty != null) {
      password = tty.readPassword("%s", prompt);
      char[] again = tty.readPassword("Again: ");
      if (password == null || again == null || !java.util.Arrays.equals(password, again)) {
        err.println("error: the passwords differ");
        return null;
      }
    } else {
      String line = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8))
          .readLine();
      password = line == null ? new char[0] : line.toCharArray();
    }
    if (password.length < 8) {
      err.println("error: a console password needs at least 8 characters");
      return null;
    }
    return password;
  }

  private int load(AdminClient c, Path file) throws IOException, InterruptedException {
    String yaml = Files.readString(file, StandardCharsets.UTF_8);
    return print(c.send("PUT", "api/v1/candidate", AdminClient.JSON.createObjectNode().put("yaml", yaml)), a -> {
      if (a.body().path("valid").asBoolean()) {
        out.println("candidate loaded from " + file + "; `compare` to review, `commit` to apply");
      } else {
        out.println("candidate loaded from " + file + ", but it would not commit:");
        problems(a.body(), out);
      }
    });
  }

  private int commit(AdminClient c, List<String> rest) throws IOException, InterruptedException {
    if (rest.size() == 1 && rest.get(0).equals("check")) {
      JsonNode ans = c.send("POST", "api/v1/commit/check", null).body();
      if (ans.path("valid").asBoolean()) {
        out.println("configuration check succeeds");
        return 0;
      }
      err.println("configuration check fails:");
      problems(ans, err);
      return 1;
    }
    ObjectNode body = AdminClient.JSON.createObjectNode();
    List<String> r = new ArrayList<>(rest);
    if (r.size() >= 2 && r.get(0).equals("file")) {
      int loaded = load(c, Path.of(r.get(1)));
      if (loaded != 0) {
        return loaded;
      }
      r = r.subList(2, r.size());
    }
    for (int i = 0; i < r.size(); i++) {
      String word = r.get(i);
      if (word.equals("confirmed") && i + 1 < r.size()) {
        body.put("confirm", number(r.get(++i)) + "m");
      } else if (word.equals("force")) {
        body.put("force", true);
      } else if (word.equals("comment") && i + 1 < r.size()) {
        body.put("message", String.join(" ", r.subList(i + 1, r.size())));
        break;
      } else {
        return usage("commit: unexpected \"" + word + "\" in " + Arrays.toString(r.toArray()));
      }
    }
    return print(c.send("POST", "api/v1/commit", body), a -> {
      out.println("commit complete: revision " + a.body().path("revision").asInt());
      nodesReport(a.body(), out);
      if (a.body().has("confirmBy")) {
        out.println("commit confirmed will be rolled back at " + a.body().path("confirmBy").asText()
            + " unless `confirm` comes first");
      }
    });
  }

  private static int number(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + s + "\" is not a number");
    }
  }

  private interface OnOk {
    void accept(AdminClient.Answer a);
  }

  private int print(AdminClient.Answer a, OnOk onOk) {
    if (a.ok()) {
      onOk.accept(a);
      return 0;
    }
    err.println("error: " + a.body().path("error").asText("HTTP " + a.status()));
    problems(a.body(), err);
    return 1;
  }

  private static void problems(JsonNode body, PrintStream to) {
    for (JsonNode p : body.path("problems")) {
      to.println("  " + p.path("text").asText());
    }
  }
}
