package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.console.Command.Mode;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One console session, as on Junos: operational mode, and configuration mode with a session of its own on the daemon
 * (its own candidate). Every command line goes through {@link Commands}, whether typed, given with {@code -c}, read
 * from a script or sent over SSH. Everything reaches the daemon through the admin API.
 */
final class Shell {
  /** What {@link #execute} returns to end the shell. */
  static final int EXIT = -1;

  private final AdminClient client;
  private final PrintStream out;
  private final PrintStream err;
  private final boolean remote;
  private final List<String> edit = new ArrayList<>();
  private String session;
  private Schema schema;
  private boolean warnedExit;
  private volatile boolean interrupted;
  private boolean progressBar;

  /** A shell on {@code client} (null: only commands that need no daemon); {@code remote}: served over SSH. */
  Shell(AdminClient client, PrintStream out, PrintStream err, boolean remote) {
    this.client = client;
    this.out = out;
    this.err = err;
    this.remote = remote;
  }

  /** On a terminal: long commands (commit) draw a progress bar from the daemon's own progress reports. */
  void progressBar(boolean on) {
    this.progressBar = on;
  }

  /** Ctrl-C while a command runs: a long command (show events follow) stops at its next step. */
  void interrupt() {
    interrupted = true;
  }

  /** Forgets an earlier Ctrl-C, before the next command starts. */
  void clearInterrupt() {
    interrupted = false;
  }

  /** Whether Ctrl-C came since the command started. */
  boolean interrupted() {
    return interrupted;
  }

  /** Whether the shell is in configuration mode. */
  boolean configuring() {
    return session != null;
  }

  /** The shell's mode now: CONFIGURATION with a session open, else OPERATIONAL. */
  Mode mode() {
    return configuring() ? Mode.CONFIGURATION : Mode.OPERATIONAL;
  }

  /** Whether the shell is served over SSH (commands that read the node's files are refused). */
  boolean remote() {
    return remote;
  }

  /** The path {@code edit} moved to, prefixed to set, delete and insert. */
  List<String> editPath() {
    return List.copyOf(edit);
  }

  /** Moves the edit path to {@code path} (empty: the top). */
  void editPath(List<String> path) {
    edit.clear();
    edit.addAll(path);
  }

  /** The configuration session's id, or null in operational mode. */
  String session() {
    return session;
  }

  /** The admin-API path of this shell's session. */
  String sessionPath() {
    return "api/v1/sessions/" + session;
  }

  /** Enters configuration mode with the daemon's session {@code id}. */
  void opened(String id) {
    session = id;
    edit.clear();
    warnedExit = false;
  }

  /** The admin API this shell talks to (null for commands that need no daemon). */
  AdminClient client() {
    return client;
  }

  /** Where results go. */
  PrintStream out() {
    return out;
  }

  /** Where errors and problems go. */
  PrintStream err() {
    return err;
  }

  /** The config's key tree, fetched once. */
  Schema schema() throws IOException, InterruptedException {
    if (schema == null) {
      AdminClient.Answer a = client.get("api/v1/schema");
      if (!a.ok()) {
        throw new IOException("the daemon gave no schema: HTTP " + a.status());
      }
      schema = new Schema(a.body());
    }
    return schema;
  }

  /** Whether `exit` should warn about uncommitted changes, and remembers that it did. */
  boolean warnExitOnce() {
    boolean first = !warnedExit;
    warnedExit = true;
    return first;
  }

  /** The candidate changed or was committed: the next `exit` warns again. */
  void changed() {
    warnedExit = false;
  }

  /** Runs one command line in the shell's mode; 0 done, 1 refused or failed, 2 bad usage, {@link #EXIT} to leave. */
  int execute(List<String> words) throws IOException, InterruptedException {
    return words.isEmpty() ? 0 : execute(words, mode());
  }

  /** Runs one command line as a command of {@code mode} (run: operational commands in configuration mode). */
  int execute(List<String> words, Mode mode) throws IOException, InterruptedException {
    Command.Action action;
    try {
      Commands.Match m = Commands.find(mode, words);
      if (remote && m.command().runs() != Command.Runs.ANYWHERE) {
        err.println("error: " + String.join(" ", m.command().words()) + " is not available over SSH (it would read "
            + "the node's files); use configure, set and commit");
        return 1;
      }
      action = m.parse();
    } catch (UsageError e) {
      return usage(e.getMessage());
    }
    return action.run(this);
  }

  /**
   * Runs command lines in this shell (so {@code configure} … {@code commit} work in a script); stops at the first that
   * fails and returns its exit code. Blank lines and lines starting with # are skipped.
   */
  int script(List<String> lines) throws IOException, InterruptedException {
    org.jline.reader.impl.DefaultParser parser = new org.jline.reader.impl.DefaultParser();
    parser.setEscapeChars(new char[0]); // a backslash is a character in URLs and patterns, not an escape
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
      int code = execute(w);
      if (code == EXIT) {
        break;
      }
      if (code != 0) {
        return code;
      }
    }
    return 0;
  }

  /** Leaves configuration mode, closing the session (the daemon drops its candidate). */
  void close() throws IOException, InterruptedException {
    if (session != null) {
      client.send("DELETE", sessionPath(), null);
      session = null;
      edit.clear();
    }
  }

  /** Reports a refused or failed call (its error, then its problems); 1. A vanished session ends configuration mode. */
  int failed(AdminClient.Answer a) {
    err.println("error: " + a.body().path("error").asText("HTTP " + a.status()));
    problems(a.body(), err);
    if (a.status() == 404 && session != null && a.body().path("error").asText().contains("no configuration session")) {
      session = null;
      edit.clear();
    }
    return 1;
  }

  /** What to do with a successful answer. */
  interface OnOk {
    /** Prints what {@code a} says. */
    void accept(AdminClient.Answer a);
  }

  /** {@code onOk} for a successful answer (0), else {@link #failed} (1). */
  int print(AdminClient.Answer a, OnOk onOk) {
    if (!a.ok()) {
      return failed(a);
    }
    onOk.accept(a);
    return 0;
  }

  /** Prints the problems an answer lists (config key and what is wrong), one per line. */
  static void problems(JsonNode body, PrintStream to) {
    for (JsonNode p : body.path("problems")) {
      to.println("  " + p.path("text").asText());
    }
  }

  /** Reports bad usage; 2. */
  int usage(String why) {
    err.println("error: " + why);
    return 2;
  }

  /** A call to the admin API. */
  interface Call {
    /** Makes the call. */
    AdminClient.Answer call() throws IOException, InterruptedException;
  }

  /**
   * Runs {@code call}; on a terminal, while it runs, draws the commit's progress as the daemon reports it
   * ({@code GET /api/v1/commit/progress}: compiling rules, preparing services k/n, recording) on one line.
   */
  AdminClient.Answer withProgress(Call call) throws IOException, InterruptedException {
    if (!progressBar) {
      return call.call();
    }
    CompletableFuture<AdminClient.Answer> done = new CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        done.complete(call.call());
      } catch (Exception e) {
        done.completeExceptionally(e);
      }
    }, "console-commit");
    t.setDaemon(true);
    t.start();
    boolean drawn = false;
    while (true) {
      try {
        return done.get(250, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        JsonNode b = client.get("api/v1/commit/progress").body();
        if (b.path("running").asBoolean()) {
          int total = b.path("total").asInt();
          int k = b.path("done").asInt();
          int filled = total > 0 ? 20 * k / total : (int) (b.path("elapsedMs").asLong() / 250 % 21);
          String bar = "[" + "#".repeat(filled) + ".".repeat(20 - filled) + "] " + b.path("phase").asText()
              + (total > 0 ? " " + k + "/" + total : "") + String.format(" %.1f s", b.path("elapsedMs").asLong() / 1e3);
          out.print("\r" + bar + "\u001b[K");
          out.flush();
          drawn = true;
        }
      } catch (ExecutionException e) {
        if (e.getCause() instanceof IOException io) {
          throw io;
        }
        throw new IOException(e.getCause());
      } finally {
        if (done.isDone() && drawn) {
          out.print("\r\u001b[K");
          out.flush();
        }
      }
    }
  }
}
