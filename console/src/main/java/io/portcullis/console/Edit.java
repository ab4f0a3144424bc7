package io.portcullis.console;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Entering, editing and leaving configuration mode: the session's own candidate on the daemon. */
final class Edit {
  private Edit() {
  }

  /** {@code configure}: opens a session with a candidate of its own. */
  static int configure(Shell shell) throws IOException, InterruptedException {
    AdminClient.Answer a = shell.client().send("POST", "api/v1/sessions", null);
    return shell.print(a, ok -> {
      shell.opened(ok.body().path("session").asText());
      shell.out().println("Entering configuration mode (your own candidate, from revision "
          + ok.body().path("base").asInt() + ")");
    });
  }

  /** {@code set PATH VALUE...} or {@code delete PATH [VALUE...]}, under the edit path. */
  static Command.Parser change(String op) {
    return args -> {
      if (args.isEmpty()) {
        throw new UsageError(op + " needs a path");
      }
      return shell -> {
        List<String> path = new ArrayList<>(shell.editPath());
        path.addAll(args);
        return edited(shell, shell.client().send("POST", shell.sessionPath() + "/" + op, words("path", path)));
      };
    };
  }

  /** {@code insert PATH ITEM before|after REF}: moves a named item within its list. */
  static Action insert(List<String> args) {
    if (args.size() < 4 || !List.of("before", "after").contains(args.get(args.size() - 2))) {
      throw new UsageError("insert needs PATH ITEM before|after REF");
    }
    List<String> list = args.subList(0, args.size() - 3);
    String item = args.get(args.size() - 3);
    String position = args.get(args.size() - 2);
    String ref = args.get(args.size() - 1);
    return shell -> {
      List<String> path = new ArrayList<>(shell.editPath());
      path.addAll(list);
      ObjectNode body = words("list", path).put("item", item).put("position", position).put("ref", ref);
      return edited(shell, shell.client().send("POST", shell.sessionPath() + "/insert", body));
    };
  }

  /** {@code insert rule NAME before|after REF}: the access rules, the list one reorders most. */
  static Action insertRule(List<String> args) {
    if (args.size() != 3) {
      throw new UsageError("insert rule needs NAME before|after REF");
    }
    List<String> full = new ArrayList<>(List.of("rules", "access"));
    full.addAll(args);
    return shell -> {
      List<String> top = shell.editPath();
      shell.editPath(List.of()); // the rules' full path, wherever edit went
      try {
        return insert(full).run(shell);
      } finally {
        shell.editPath(top);
      }
    };
  }

  /** {@code edit PATH}: work under PATH (checked against the schema). */
  static Action edit(List<String> args) {
    if (args.isEmpty()) {
      throw new UsageError("edit needs a PATH");
    }
    return shell -> {
      List<String> next = new ArrayList<>(shell.editPath());
      next.addAll(args);
      if (shell.schema().walk(next) == null) {
        shell.err().println("error: " + String.join(" ", next) + ": no such part of the config");
        return 1;
      }
      shell.editPath(next);
      return 0;
    };
  }

  /** {@code up}: one level up from the edit path. */
  static int up(Shell shell) {
    List<String> path = shell.editPath();
    shell.editPath(path.isEmpty() ? path : path.subList(0, path.size() - 1));
    return 0;
  }

  /** {@code top}: back to the top of the config. */
  static int top(Shell shell) {
    shell.editPath(List.of());
    return 0;
  }

  /** {@code show [PATH ...] [| compare | display set]}: the session's candidate (PATH: its set commands there). */
  static Action show(List<String> args) {
    Show.Selection s = Show.Selection.parse(args, true);
    return shell -> {
      if (s.compare()) {
        return Candidate.diff(shell, shell.client().get(shell.sessionPath() + "/compare"));
      }
      List<String> path = new ArrayList<>(shell.editPath());
      path.addAll(s.path());
      if (!s.path().isEmpty() && shell.schema().walk(path) == null) {
        List<String> op = new ArrayList<>(List.of("show"));
        op.addAll(args);
        boolean operational = Commands.lookup(Command.Mode.OPERATIONAL, op) != null;
        shell.err().println("error: " + String.join(" ", path) + ": no such part of the config"
            + (operational ? " (the operational command: run " + String.join(" ", op) + ")" : ""));
        return 1;
      }
      if (s.asSet() || !s.path().isEmpty()) {
        return Show.setLines(shell, shell.client().get(shell.sessionPath() + "/set"), path);
      }
      return shell.print(shell.client().get(shell.sessionPath()),
          a -> shell.out().print(a.body().path("yaml").asText()));
    };
  }

  /** {@code compare} (configuration mode): what this session changes. */
  static int compare(Shell shell) throws IOException, InterruptedException {
    return Candidate.diff(shell, shell.client().get(shell.sessionPath() + "/compare"));
  }

  /** {@code exit [discard]}: leaves configuration mode; with uncommitted changes, warns once unless discard. */
  static Action exit(List<String> args) {
    if (!args.isEmpty() && !args.equals(List.of("discard"))) {
      throw new UsageError("exit: unexpected \"" + args.get(0) + "\"");
    }
    boolean discard = !args.isEmpty();
    return shell -> {
      AdminClient.Answer a = shell.client().get(shell.sessionPath());
      if (a.ok() && a.body().path("changed").asBoolean() && !discard && shell.warnExitOnce()) {
        shell.out().println("The candidate has uncommitted changes: `exit` again (or `exit discard`) drops them,"
            + " `commit` applies them");
        return 0;
      }
      shell.close();
      shell.out().println("Exiting configuration mode");
      return 0;
    };
  }

  /** Reports an edit's answer; the candidate changed, so exit warns again. */
  private static int edited(Shell shell, AdminClient.Answer a) {
    return shell.print(a, ok -> {
      shell.changed();
      // Not an error: a candidate may be incomplete while it is edited; commit refuses it until it is whole.
      Candidate.wouldNotCommit(shell, ok.body());
    });
  }

  /** A JSON body with {@code words} as the array {@code key}. */
  private static ObjectNode words(String key, List<String> words) {
    ObjectNode body = AdminClient.JSON.createObjectNode();
    ArrayNode a = body.putArray(key);
    words.forEach(a::add);
    return body;
  }
}
