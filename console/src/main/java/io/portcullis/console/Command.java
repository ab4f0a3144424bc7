package io.portcullis.console;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One entry of the console's command table, as in HAProxy's {@code cli_kw_list}: the words that name it, the usage of
 * its arguments, one line of help, the mode it belongs to, where it may run, and its parser. A parser only reads
 * words; the action it returns does the work, so a parse can be checked without a daemon.
 */
record Command(List<String> words, List<String> alias, String args, String help, Mode mode, Runs runs,
    Parser parser) {

  /** The shell mode a command belongs to; BOTH: the same words in either, against the mode's candidate. */
  enum Mode {
    OPERATIONAL, CONFIGURATION, BOTH;

    /** Whether a command of this mode runs in shell mode {@code shell} (OPERATIONAL or CONFIGURATION). */
    boolean includes(Mode shell) {
      return this == BOTH || this == shell;
    }
  }

  /** Where a command may run: LOCAL ones read the node's files or the process's stdin, so never over SSH. */
  enum Runs {
    ANYWHERE, LOCAL, WITHOUT_DAEMON
  }

  /** What a parsed command line does to the shell and its daemon; returns the exit code. */
  interface Action {
    /** Runs against {@code shell}; 0 done, 1 refused or failed, 2 bad usage, {@link Shell#EXIT} to leave. */
    int run(Shell shell) throws IOException, InterruptedException;
  }

  /** Reads the words after the command's own. */
  interface Parser {
    /** The action {@code args} ask for; throws {@link UsageError} when they do not fit the usage. */
    Action parse(List<String> args);
  }

  /** Words that do not fit a command (exit code 2); the message says which, and the usage line. */
  static final class UsageError extends IllegalArgumentException {
    UsageError(String message) {
      super(message);
    }
  }

  Command {
    words = List.copyOf(words);
    alias = List.copyOf(alias);
  }

  /** The usage line: the command's words, then its arguments. */
  String usage() {
    return String.join(" ", words) + (args.isEmpty() ? "" : " " + args);
  }

  /** The same command also under {@code spelling} (kept because scripts and docs use it), not listed in help. */
  Command alias(String spelling) {
    return new Command(words, List.of(spelling.split(" ")), args, help, mode, runs, parser);
  }

  /** The same command, refused over SSH. */
  Command local() {
    return new Command(words, alias, args, help, mode, Runs.LOCAL, parser);
  }

  /** The same command, run without reading the token or reaching the daemon (implies local). */
  Command withoutDaemon() {
    return new Command(words, alias, args, help, mode, Runs.WITHOUT_DAEMON, parser);
  }

  /** How many leading words of {@code line} name this command (its words or its alias); 0 if they do not. */
  int matched(List<String> line) {
    if (startsWith(line, words)) {
      return words.size();
    }
    return !alias.isEmpty() && startsWith(line, alias) ? alias.size() : 0;
  }

  /** The literal keywords of the arguments (lowercase words of the usage: {@code confirmed}, {@code comment}). */
  List<String> keywords() {
    List<String> out = new ArrayList<>();
    for (String token : args.split("[\\s\\[\\]|]+")) {
      if (token.matches("[a-z][a-z-]*") && !out.contains(token)) {
        out.add(token);
      }
    }
    return out;
  }

  /** The argument group a keyword starts in the usage ({@code confirmed MINUTES}), for completion's help. */
  String keywordHelp(String keyword) {
    for (String group : args.split("[\\[\\]]")) {
      String g = group.strip();
      if (g.equals(keyword) || g.startsWith(keyword + " ")) {
        return g;
      }
    }
    return "";
  }

  /** Whether {@code line} begins with the words {@code prefix}. */
  private static boolean startsWith(List<String> line, List<String> prefix) {
    return line.size() >= prefix.size() && line.subList(0, prefix.size()).equals(prefix);
  }
}
