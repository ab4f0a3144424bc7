package io.portcullis.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.console.Command.Mode;
import io.portcullis.console.Command.Runs;
import io.portcullis.console.Command.UsageError;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The command table alone: usage and help for every entry, dispatch and parsing, errors; no daemon. */
class CommandsTest {
  static List<String> words(String line) {
    return List.of(line.split(" "));
  }

  static Command.Action parse(Mode mode, String line) {
    return Commands.find(mode, words(line)).parse();
  }

  @Test
  void everyCommandHasAUsageLineAndHelp() {
    for (Command c : Commands.TABLE) {
      assertFalse(c.words().isEmpty());
      assertTrue(c.usage().startsWith(String.join(" ", c.words())), c.usage());
      assertFalse(c.help().isBlank(), c.usage() + " has no help");
      assertTrue(c.words().stream().allMatch(w -> w.matches("[a-z][a-z-]*")), c.usage());
    }
  }

  @Test
  void helpListsEveryCommandOfItsModeAndOverSshOnlyWhatRunsThere() {
    for (Mode mode : List.of(Mode.OPERATIONAL, Mode.CONFIGURATION)) {
      String help = Commands.help(mode, false, 118);
      // a usage line starts two spaces in; its help follows after two or more spaces, or on the next lines
      List<String> listed = help.lines().filter(l -> l.matches("  \\S.*")).map(l -> l.strip().split(" {2,}")[0])
          .toList();
      List<String> expected = Commands.TABLE.stream().filter(c -> c.mode().includes(mode)).map(Command::usage)
          .toList();
      assertEquals(expected, listed, mode + " help:\n" + help);
    }
    String ssh = Commands.help(Mode.OPERATIONAL, true, 118);
    assertTrue(ssh.contains("  commit [confirmed MINUTES]"), ssh);
    for (String local : List.of("load FILE", "commit file", "passwd USER", "hash-password")) {
      assertFalse(ssh.contains("  " + local), local + " is refused over SSH, so not listed there");
    }
    assertTrue(Main.USAGE.contains("  show balancer haproxy [FRONTEND ...]") && Main.USAGE.contains("  set PATH"),
        "--help is made of the same table");
  }

  @Test
  void eachEntryIsReachedByItsOwnWords() {
    for (Command c : Commands.TABLE) {
      for (Mode mode : List.of(Mode.OPERATIONAL, Mode.CONFIGURATION)) {
        if (c.mode().includes(mode)) {
          assertEquals(c, Commands.find(mode, c.words()).command(), "shadowed: " + c.usage() + " in " + mode);
        }
      }
    }
  }

  @Test
  void commitAndRollbackParseToTheSameActionsInBothModes() {
    record Case(String line, Command.Action action) {
    }
    List<Case> cases = List.of(
        new Case("commit", new Candidate.Commit(false, 0, "")),
        new Case("commit check", new Candidate.Check()),
        new Case("commit confirmed 5", new Candidate.Commit(false, 5, "")),
        new Case("rollback 2", new Candidate.Rollback(2)),
        new Case("commit force confirmed 10 comment move the proxy", new Candidate.Commit(true, 10, "move the proxy")),
        new Case("commit comment check this", new Candidate.Commit(false, 0, "check this")),
        new Case("confirm", new Candidate.Confirm()),
        new Case("discard", new Candidate.Discard()));
    for (Mode mode : List.of(Mode.OPERATIONAL, Mode.CONFIGURATION)) {
      for (Case c : cases) {
        assertEquals(c.action(), parse(mode, c.line()), mode + ": " + c.line());
      }
    }
    assertEquals(new Candidate.CommitFile(Path.of("/etc/portcullis/portcullis.yaml"), new Candidate.Commit(false, 0,
        "systemctl reload")), parse(Mode.OPERATIONAL, "commit file /etc/portcullis/portcullis.yaml comment systemctl "
        + "reload"));
    assertEquals(new Candidate.Compare(3), parse(Mode.OPERATIONAL, "compare 3"));
    assertEquals(new Events(true, 5, "&host=casino.test&threat=*"), parse(Mode.OPERATIONAL,
        "show events follow 5 host casino.test threat any"));
  }

  @Test
  void badArgumentsAreUsageErrorsNamingTheUsage() {
    Map<String, String> bad = Map.of(
        "commit confirmed x", "\"x\" is not a number (usage: commit [confirmed MINUTES] [force] [comment TEXT])",
        "commit confirmed 0", "at least 1 minute",
        "commit check now", "unexpected \"now\" (usage: commit check)",
        "commit frobnicate", "commit: unexpected \"frobnicate\"",
        "rollback", "rollback needs one revision number (usage: rollback N)",
        "rollback x", "\"x\" is not a number (usage: rollback N)",
        "show revision", "(usage: show revision N)");
    bad.forEach((line, message) -> {
      UsageError e = assertThrows(UsageError.class, () -> parse(Mode.OPERATIONAL, line), line);
      assertTrue(e.getMessage().contains(message), line + ": " + e.getMessage());
    });
    // in configuration mode the session's candidate is committed: no file, no revision to compare with
    assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "commit file /etc/passwd"));
    assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "compare 3"));
    assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "show | compare extra"));
  }

  @Test
  void unknownAndIncompleteCommandsSayWhatToType() {
    assertEquals("unknown command frobnicate (help lists them)",
        assertThrows(UsageError.class, () -> parse(Mode.OPERATIONAL, "frobnicate")).getMessage());
    assertEquals("unknown command id in configuration mode (help lists them)",
        assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "id")).getMessage());
    assertTrue(assertThrows(UsageError.class, () -> parse(Mode.OPERATIONAL, "show"))
        .getMessage().startsWith("show what? status, config, candidate, rules, balancer, cluster"));
    assertEquals("ping is an operational command: run ping",
        assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "ping")).getMessage());
    assertThrows(UsageError.class, () -> parse(Mode.CONFIGURATION, "run configure"));
    assertThrows(UsageError.class, () -> parse(Mode.OPERATIONAL, "set proxy maxHeaders 5"));
  }

  @Test
  void aliasesReachTheOneCommandButAreNotListed() {
    Command haproxy = Commands.find(Mode.OPERATIONAL, words("show balancer haproxy web")).command();
    Commands.Match alias = Commands.find(Mode.OPERATIONAL, words("show haproxy-config web"));
    assertEquals(haproxy, alias.command());
    assertEquals(List.of("web"), alias.args());
    assertEquals("help", Commands.find(Mode.CONFIGURATION, words("?")).command().words().get(0));
    assertEquals(Mode.CONFIGURATION, Commands.find(Mode.CONFIGURATION, words("quit")).command().mode());
    assertFalse(Commands.nextWords(Mode.OPERATIONAL, words("show"), false).containsKey("haproxy-config"));
  }

  @Test
  void completionComesFromTheTable() {
    Map<String, String> top = Commands.nextWords(Mode.OPERATIONAL, List.of(), false);
    assertTrue(top.keySet().containsAll(List.of("configure", "show", "ping", "test", "commit", "help", "exit")),
        top.toString());
    assertTrue(top.get("show").startsWith("status, config"), top.toString());
    assertFalse(Commands.nextWords(Mode.OPERATIONAL, List.of(), true).containsKey("passwd"), "not over SSH");
    assertEquals("validate the candidate", Commands.nextWords(Mode.CONFIGURATION, words("commit"), false).get("check"));
    Command commit = Commands.find(Mode.CONFIGURATION, words("commit")).command();
    assertEquals(List.of("confirmed", "force", "comment"), commit.keywords());
    assertEquals("confirmed MINUTES", commit.keywordHelp("confirmed"));
  }

  @Test
  void onlyCommandsThatReadTheNodesFilesAreLocal() {
    assertEquals(Runs.LOCAL, Commands.find(Mode.OPERATIONAL, words("commit file /etc/passwd")).command().runs());
    assertEquals(Runs.LOCAL, Commands.find(Mode.OPERATIONAL, words("load /x")).command().runs());
    // a comment that mentions a file is a comment
    assertEquals(Runs.ANYWHERE, Commands.find(Mode.OPERATIONAL, words("commit comment new file")).command().runs());
  }
}
