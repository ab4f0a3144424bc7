package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The commands on a candidate: compare, commit, confirm, rollback, discard, load. Each has one parser; in
 * configuration mode they act on the session's own candidate, in operational mode on the node's shared one.
 */
final class Candidate {
  private Candidate() {
  }

  /** {@code commit [confirmed MINUTES] [force] [comment TEXT]}; confirmMinutes 0: a plain commit, comment "": none. */
  record Commit(boolean force, int confirmMinutes, String comment) implements Action {
    /** The options in any order; {@code comment} takes the rest of the line. */
    static Commit parse(List<String> args) {
      boolean force = false;
      int minutes = 0;
      for (int i = 0; i < args.size(); i++) {
        String word = args.get(i);
        if (word.equals("confirmed") && i + 1 < args.size()) {
          minutes = number(args.get(++i));
          if (minutes < 1) {
            throw new UsageError("commit confirmed needs at least 1 minute");
          }
        } else if (word.equals("force")) {
          force = true;
        } else if (word.equals("comment") && i + 1 < args.size()) {
          return new Commit(force, minutes, String.join(" ", args.subList(i + 1, args.size())));
        } else {
          throw new UsageError("commit: unexpected \"" + word + "\"");
        }
      }
      return new Commit(force, minutes, "");
    }

    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      ObjectNode body = AdminClient.JSON.createObjectNode();
      if (confirmMinutes > 0) {
        body.put("confirm", confirmMinutes + "m");
      }
      if (force) {
        body.put("force", true);
      }
      if (!comment.isEmpty()) {
        body.put("message", comment);
      }
      String path = shell.configuring() ? shell.sessionPath() + "/commit" : "api/v1/commit";
      AdminClient.Answer a = shell.withProgress(() -> shell.client().send("POST", path, body));
      if (a.status() == 409 && a.body().has("changed")) {
        // a stale session: what was committed meanwhile, so that no one undoes it unseen
        shell.err().println("error: " + a.body().path("error").asText());
        shell.err().print(a.body().path("changed").asText());
        return 1;
      }
      return shell.print(a, ok -> {
        shell.out().println("commit complete: revision " + ok.body().path("revision").asInt());
        Show.nodesReport(ok.body(), shell.out());
        shell.changed();
        if (ok.body().has("confirmBy")) {
          shell.out().println("commit confirmed will be rolled back at " + ok.body().path("confirmBy").asText()
              + " unless `confirm` comes first");
        }
      });
    }
  }

  /** {@code commit check}: validates the candidate without applying it. */
  record Check() implements Action {
    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      AdminClient.Answer a = shell.configuring() ? shell.client().send("POST", shell.sessionPath() + "/check", null)
          : shell.client().send("POST", "api/v1/commit/check", null);
      if (!a.body().has("valid")) {
        return shell.failed(a); // refused (a role, a lost session): not a verdict on the candidate
      }
      if (a.ok() && a.body().path("valid").asBoolean()) {
        shell.out().println("configuration check succeeds");
        return 0;
      }
      shell.err().println("configuration check fails:");
      Shell.problems(a.body(), shell.err());
      return 1;
    }
  }

  /** {@code commit file FILE [commit options]}: FILE becomes the candidate, then the commit (systemctl reload). */
  record CommitFile(Path file, Commit commit) implements Action {
    /** FILE, then the options of commit. */
    static CommitFile parse(List<String> args) {
      if (args.isEmpty()) {
        throw new UsageError("commit file needs a FILE");
      }
      return new CommitFile(Path.of(args.get(0)), Commit.parse(args.subList(1, args.size())));
    }

    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      int loaded = new Load(file).run(shell);
      return loaded != 0 ? loaded : commit.run(shell);
    }
  }

  /** {@code load FILE}: FILE's content becomes the shared candidate (checked, not applied). */
  record Load(Path file) implements Action {
    /** Exactly one FILE. */
    static Load parse(List<String> args) {
      if (args.size() != 1) {
        throw new UsageError("load needs one FILE");
      }
      return new Load(Path.of(args.get(0)));
    }

    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      String yaml = Files.readString(file, StandardCharsets.UTF_8);
      ObjectNode body = AdminClient.JSON.createObjectNode().put("yaml", yaml);
      return shell.print(shell.client().send("PUT", "api/v1/candidate", body), a -> {
        if (a.body().path("valid").asBoolean()) {
          shell.out().println("candidate loaded from " + file + "; `compare` to review, `commit` to apply");
        } else {
          shell.out().println("candidate loaded from " + file + ", but it would not commit:");
          Shell.problems(a.body(), shell.out());
        }
      });
    }
  }

  /** {@code compare [N]} (operational): the diff from revision N, 0 for the active one, to the shared candidate. */
  record Compare(int revision) implements Action {
    /** An optional revision number. */
    static Compare parse(List<String> args) {
      if (args.size() > 1) {
        throw new UsageError("compare takes at most one revision");
      }
      return new Compare(args.isEmpty() ? 0 : number(args.get(0)));
    }

    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      return diff(shell, shell.client().get(revision == 0 ? "api/v1/compare" : "api/v1/compare?revision=" + revision));
    }
  }

  /** Prints a diff answer; "no differences" for an empty one. */
  static int diff(Shell shell, AdminClient.Answer a) {
    return shell.print(a, ok -> {
      String d = ok.body().path("diff").asText();
      shell.out().print(d.isEmpty() ? "no differences\n" : d);
    });
  }

  /** {@code rollback N}: revision N becomes the candidate (the session's, or the shared one); commit applies it. */
  record Rollback(int revision) implements Action {
    /** Exactly one revision number. */
    static Rollback parse(List<String> args) {
      if (args.size() != 1) {
        throw new UsageError("rollback needs one revision number");
      }
      return new Rollback(number(args.get(0)));
    }

    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      String path = shell.configuring() ? shell.sessionPath() + "/rollback" : "api/v1/rollback";
      ObjectNode body = AdminClient.JSON.createObjectNode().put("revision", revision);
      return shell.print(shell.client().send("POST", path, body), a -> {
        shell.out().println("load complete: revision " + revision + " is the candidate; `commit` to put it into "
            + "effect");
        wouldNotCommit(shell, a.body());
        shell.changed();
      });
    }
  }

  /** {@code confirm}: keeps a commit confirmed (the node's; there is one at a time). */
  record Confirm() implements Action {
    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      return shell.print(shell.client().send("POST", "api/v1/commit/confirm", null),
          a -> shell.out().println("commit confirmed: revision " + a.body().path("revision").asInt() + " kept"));
    }
  }

  /** {@code discard}: drops the candidate's changes (the session's, or the shared candidate). */
  record Discard() implements Action {
    @Override
    public int run(Shell shell) throws IOException, InterruptedException {
      AdminClient.Answer a = shell.configuring() ? shell.client().send("POST", shell.sessionPath() + "/discard", null)
          : shell.client().send("DELETE", "api/v1/candidate", null);
      return shell.print(a, ok -> shell.out().println("changes discarded"));
    }
  }

  /** After an edit: the candidate's problems, if it would not commit yet (not an error while it is being edited). */
  static void wouldNotCommit(Shell shell, JsonNode body) {
    if (!body.path("valid").asBoolean(true) || !body.path("problems").isEmpty()) {
      shell.out().println("(the candidate would not commit yet:)");
      Shell.problems(body, shell.err());
    }
  }

  /** A whole number word; a usage error otherwise. */
  static int number(String word) {
    try {
      return Integer.parseInt(word);
    } catch (NumberFormatException e) {
      throw new UsageError("\"" + word + "\" is not a number");
    }
  }
}
