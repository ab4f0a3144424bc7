package io.portcullis.console;

import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.Mode;
import io.portcullis.console.Command.Parser;
import io.portcullis.console.Command.Runs;
import io.portcullis.console.Command.UsageError;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The console's one command table (HAProxy's {@code cli_kw_list}): the interactive shell, {@code -c}, one-shot
 * arguments, scripts and SSH exec all dispatch through it, and help, usage and Tab completion are read from it.
 * A line runs the entry whose words match most of its leading words.
 */
final class Commands {
  private static final Mode OP = Mode.OPERATIONAL;
  private static final Mode CONF = Mode.CONFIGURATION;
  private static final Mode BOTH = Mode.BOTH;

  /** Every command, in the order help lists them. */
  static final List<Command> TABLE = List.of(
      entry(OP, "configure", "", "enter configuration mode, with a candidate of your own", none(Edit::configure)),
      entry(OP, "show status", "", "node, version, revision, services and their ports, a pending commit confirmed",
          none(Show::status)),
      entry(OP, "show config", "[PATH ...] [| display set]",
          "the active config (YAML), or as set commands; PATH: only that part, as set commands", Show::config),
      entry(OP, "show candidate", "", "the node's shared candidate (YAML), as load and rollback leave it",
          none(Show::candidate)),
      entry(OP, "show rules", "", "the traffic processing rules in order with their hits, then as set commands",
          none(Show::rules)),
      entry(OP, "show balancer", "", "frontends and servers: state, weight (b: backup), connections, errors, checks "
          + "(on a control node, each node's balancer too)", none(Show::balancer)),
      entry(OP, "show balancer haproxy", "[FRONTEND ...]", "the balancer's layout as a haproxy.cfg: all frontends "
          + "(one HAProxy), or those named (one file per HAProxy)", Show::haproxy).alias("show haproxy-config"),
      entry(OP, "show cluster", "", "control node: each node's state, revision, health; node: its link to the control "
          + "node", none(Show::cluster)),
      entry(OP, "show cluster join-key", "NODE", "what NODE needs to join this control node", Show::joinKey),
      entry(OP, "show tls ca", "", "the CA that signs the certificates HTTPS inspection shows users: its "
          + "subject, validity, fingerprint and PEM, to distribute to their devices", none(Show::tlsCa)),
      entry(OP, "show users", "", "the proxy's users logged in lately: how (local, directory, kerberos) and their "
          + "groups", none(Show::users)),
      entry(OP, "show files", "", "the files beside the config (keytab, PEM files, lists): size, mode, SHA-256",
          none(ConfigDir::show)),
      entry(OP, "file import", "NAME BASE64", "write NAME beside the config (0600; admin role), its content one "
          + "Base64 line (base64 -w0 FILE): how a keytab or a PEM file reaches a node over SSH", ConfigDir::importFile),
      entry(OP, "rotate tls ca", "[now]", "replace this node's own inspection CA with a new one (every client must "
          + "then trust it); without now: only say what that means", Show::rotateCa),
      entry(OP, "show metrics", "", "the node's portcullis_* metrics", none(Show::metrics)),
      entry(OP, "show events", "[follow] [N] [" + String.join("|", Events.FILTERS) + " VALUE ...]",
          "the last N (20) traffic decisions from the journal; follow: new ones as they come (Ctrl-C ends). "
              + "host takes subdomains, url and threat a part (threat any: any threat), since and until an instant "
              + "or a time back from now (15m, 2h, 1d), node one node's events on a control node", Events::parse),
      entry(OP, "show revisions", "", "the revisions kept, newest last (*: the active one)", none(Show::revisions)),
      entry(OP, "show revision", "N", "revision N's config (YAML)", Show::revision),
      entry(OP, "ping", "", "is the daemon there (its node, revision, answer time)", none(Show::ping)),
      entry(OP, "test url", "URL [client IP] [user NAME]",
          "dry-run a request through the rules: which rule matches, and why", Show::testUrl),
      entry(OP, "load", "FILE", "FILE's content becomes the shared candidate (checked, not applied)",
          Candidate.Load::parse).local(),
      entry(OP, "compare", "[N]", "diff from revision N (default: the active one) to the shared candidate",
          Candidate.Compare::parse),
      entry(OP, "commit file", "FILE [confirmed MINUTES] [force] [comment TEXT]",
          "load FILE and commit it (what systemctl reload runs)", Candidate.CommitFile::parse).local(),
      entry(CONF, "set", "PATH VALUE...", "set a key; a named item is created (set rules access NAME action block), a "
          + "list gets the values added", Edit.change("set")),
      entry(CONF, "delete", "PATH [VALUE...]", "delete a key, an item, or values of a list", Edit.change("delete")),
      entry(CONF, "insert", "PATH ITEM before|after REF", "move a named item (rules are evaluated in order)",
          Edit::insert),
      entry(CONF, "insert rule", "NAME before|after REF", "move an access rule", Edit::insertRule),
      entry(CONF, "edit", "PATH", "work under PATH (prefixed to set, delete, insert and show)", Edit::edit),
      entry(CONF, "up", "", "one level up from the edit path", none(Edit::up)),
      entry(CONF, "top", "", "back to the top of the config", none(Edit::top)),
      entry(CONF, "show", "[PATH ...] [| compare | display set]", "the candidate (YAML); PATH or display set: as set "
          + "commands; compare: what this session changes", Edit::show),
      entry(CONF, "compare", "", "what this session changes (as show | compare)", none(Edit::compare)),
      entry(BOTH, "commit check", "", "validate the candidate", none(new Candidate.Check())),
      entry(BOTH, "commit", "[confirmed MINUTES] [force] [comment TEXT]", "validate and apply the candidate (on a "
          + "control node: on every node, waiting for them); confirmed: it reverts unless confirm follows within "
          + "MINUTES, cluster-wide; force: on a cluster node, change what its control node owns",
          Candidate.Commit::parse),
      entry(BOTH, "confirm", "", "keep a commit confirmed", none(new Candidate.Confirm())),
      entry(BOTH, "rollback", "N", "revision N becomes the candidate (then commit)", Candidate.Rollback::parse),
      entry(BOTH, "discard", "", "drop the candidate's changes", none(new Candidate.Discard())),
      entry(OP, "passwd", "USER", "set a console user's password (asked twice on a terminal, else one line of "
          + "stdin), stored as a PBKDF2 hash and committed", Passwords::passwd).local(),
      entry(OP, "hash-password", "", "print the PBKDF2 hash of a password (read as for passwd), for the "
          + "unattended-install answer PORTCULLIS_ADMIN_PASSWORD_HASH; needs no daemon", none(Passwords::hash))
          .withoutDaemon(),
      entry(CONF, "run", "COMMAND", "an operational command (run show status)", Commands::run),
      entry(BOTH, "help", "", "list the commands of this mode", none(Commands::help)).alias("?"),
      entry(OP, "exit", "", "leave the console", none(shell -> Shell.EXIT)).alias("quit"),
      entry(CONF, "exit", "[discard]", "leave configuration mode (warns once about uncommitted changes; discard: "
          + "drop them)", Edit::exit).alias("quit"));

  private Commands() {
  }

  /** A command line's entry and the words after the entry's own. */
  record Match(Command command, List<String> args) {
    Match {
      args = List.copyOf(args);
    }

    /** The line's action; a usage error names what is wrong and the entry's usage line. */
    Action parse() {
      try {
        return command.parser().parse(args);
      } catch (UsageError e) {
        throw new UsageError(e.getMessage() + " (usage: " + command.usage() + ")");
      }
    }
  }

  /** The entry of {@code mode} that {@code line} names (the longest match); a usage error if none does. */
  static Match find(Mode mode, List<String> line) {
    if (line.isEmpty()) {
      throw new UsageError("no command (help lists them)");
    }
    Match best = lookup(mode, line);
    if (best != null) {
      return best;
    }
    Map<String, String> next = nextWords(mode, line.subList(0, 1), false);
    if (!next.isEmpty()) {
      throw new UsageError(line.get(0) + " what? " + String.join(", ", next.keySet()));
    }
    if (mode == CONF && lookup(OP, line) != null) {
      throw new UsageError(line.get(0) + " is an operational command: run " + String.join(" ", line));
    }
    throw new UsageError("unknown command " + line.get(0) + (mode == CONF ? " in configuration mode" : "")
        + " (help lists them)");
  }

  /** The entry of {@code mode} that {@code line} names, or null. */
  static Match lookup(Mode mode, List<String> line) {
    Match best = null;
    for (Command c : TABLE) {
      int n = c.mode().includes(mode) ? c.matched(line) : 0;
      if (n > 0 && (best == null || n > line.size() - best.args().size())) {
        best = new Match(c, line.subList(n, line.size()));
      }
    }
    return best;
  }

  /** The command words that may follow {@code before} in {@code mode}, each with its help ({@code remote}: SSH's). */
  static Map<String, String> nextWords(Mode mode, List<String> before, boolean remote) {
    Map<String, List<Command>> by = new LinkedHashMap<>();
    for (Command c : visible(mode, remote)) {
      List<String> w = c.words();
      if (w.size() > before.size() && w.subList(0, before.size()).equals(before)) {
        by.computeIfAbsent(w.get(before.size()), k -> new ArrayList<>()).add(c);
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    int depth = before.size() + 1;
    by.forEach((word, cs) -> out.put(word, cs.stream().filter(c -> c.words().size() == depth).findFirst()
        .map(Command::help) // a command itself: its help; a group of them (show): what may follow
        .orElseGet(() -> String.join(", ", cs.stream().map(c -> c.words().get(depth)).distinct().toList()))));
    return out;
  }

  /** The commands of shell mode {@code mode}; over SSH ({@code remote}) without the ones refused there. */
  static List<Command> visible(Mode mode, boolean remote) {
    return TABLE.stream().filter(c -> c.mode().includes(mode) && !(remote && c.runs() != Runs.ANYWHERE)).toList();
  }

  /** The help of shell mode {@code mode}: each usage line with its help, wrapped to {@code width}. */
  static String help(Mode mode, boolean remote, int width) {
    StringBuilder b = new StringBuilder();
    for (Command c : visible(mode, remote)) {
      String usage = "  " + c.usage();
      int column = 35;
      b.append(usage);
      int at = usage.length();
      if (at >= column - 1) {
        b.append('\n');
        at = 0;
      }
      b.append(" ".repeat(column - at));
      at = column;
      for (String word : c.help().split(" ")) {
        if (at + 1 + word.length() > width && at > column) {
          b.append('\n').append(" ".repeat(column));
          at = column;
        } else if (at > column) {
          b.append(' ');
          at++;
        }
        b.append(word);
        at += word.length();
      }
      b.append('\n');
    }
    return b.toString().stripTrailing();
  }

  /** {@code help}: the commands of the shell's mode, as they run there. */
  private static int help(Shell shell) {
    shell.out().println(help(shell.mode(), shell.remote(), 118));
    return 0;
  }

  /** {@code run COMMAND}: an operational command from configuration mode (not configure: the session is open). */
  private static Action run(List<String> args) {
    if (args.isEmpty()) {
      throw new UsageError("run needs a COMMAND");
    }
    Match m = lookup(OP, args);
    if (m != null && m.command().words().equals(List.of("configure"))) {
      throw new UsageError("already in configuration mode");
    }
    return shell -> shell.execute(args, OP);
  }

  /** An entry that runs anywhere, without an alias. */
  private static Command entry(Mode mode, String words, String args, String help, Parser parser) {
    return new Command(List.of(words.split(" ")), List.of(), args, help, mode, Runs.ANYWHERE, parser);
  }

  /** A parser for a command without arguments. */
  private static Parser none(Action action) {
    return args -> {
      if (!args.isEmpty()) {
        throw new UsageError("unexpected \"" + args.get(0) + "\"");
      }
      return action;
    };
  }
}
