package io.portcullis.console;

import static io.portcullis.daemon.TestNodes.config;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console shell against a real daemon: configuration mode from a script (the proxy's behaviour changes), one
 * candidate per session (a stale commit is refused with what changed), and the interactive shell on a real
 * pseudo-terminal (tmux) for Tab completion and {@code ?}.
 */
class ConsoleShellTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int admin;
  static int proxy;
  static String out;
  static String err;

  @BeforeAll
  static void start() throws Exception {
    admin = freePort();
    proxy = freePort();
    String text = config(admin, proxy, freePort());
    // In the test's directory: the category list a test commits is there, where config files must be.
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
  }

  /** The console with {@code args}, stdin {@code input}; its exit code (out and err kept). */
  static int console(String input, String... args) {
    LocalConsole.Result r = LocalConsole.run(admin, dir.resolve("data"), input, args);
    out = r.out();
    err = r.err();
    return r.code();
  }

  String throughProxy(String url) throws Exception {
    return Curl.in(dir).hideErrors().maxTime(20).proxy(proxy).status(url);
  }

  @Test
  void aScriptedSessionAddsABlockRuleAndTheProxyBlocks() throws Exception {
    String before = throughProxy("http://www.casino.test/");
    assertTrue(!before.equals("403"), "not blocked yet: " + before);
    assertEquals(0, console("""
        configure
        set rules access no-casino when hosts "*.casino.test"
        set rules access no-casino action block
        show | compare
        commit comment block casinos
        exit
        """), err);
    assertTrue(out.contains("+      - \"*.casino.test\"") || out.contains("*.casino.test"), out);
    assertTrue(out.contains("commit complete: revision"), out);
    assertEquals("403", throughProxy("http://www.casino.test/"));
    // The ICAP server's decision is among the recent events (written out every 50 ms).
    for (int i = 0; i < 50 && !(console("", "-c", "show events 100") == 0 && out.contains("no-casino")); i++) {
      Thread.sleep(100);
    }
    assertTrue(out.contains("www.casino.test") && out.contains("no-casino"), out);
    assertEquals(0, console("", "-c", "show config rules access"));
    assertTrue(out.contains("set rules access no-casino when hosts *.casino.test"), out);
    assertTrue(out.contains("set rules access no-casino action block"), out);
    assertEquals(0, console("", "-c", "test url http://www.casino.test/spin client 10.1.2.3"));
    assertTrue(out.contains("block by rule no-casino"), out);
    assertTrue(out.contains("set rules access no-casino when hosts *.casino.test"), out);
    assertEquals(0, console("", "-c", "ping"));
    assertTrue(out.contains("node test-node answers: revision"), out);
    assertEquals(0, console("", "-c", "test url http://example.org/"));
    assertTrue(out.contains("allowed (no access rule matches)"), out);
    assertEquals(0, console("configure\nset rules access first-allow action allow\ninsert rule first-allow before "
        + "no-casino\ncommit\n"));
    assertEquals(0, console("", "-c", "test url http://www.casino.test/spin"));
    assertTrue(out.contains("allow by rule first-allow"), "insert rule moved it first: " + out);
    assertEquals(0, console("configure\ndelete rules access first-allow\ncommit\n"));
    // Scripts stop at the first error, with its exit code.
    assertEquals(1, console("configure\nset rules access x colour red\ncommit\n"));
    assertTrue(err.contains("no key \"colour\" here"), err);
    assertEquals(2, console("", "-c", "frobnicate"));
  }

  @Test
  void oneTableServesEveryEntryPointWithTheSameSyntax() throws Exception {
    // configuration mode: show PATH is that part of the session's candidate, as set commands
    assertEquals(0, console("configure\nset rules access part-test action allow\nshow rules access part-test\n"
        + "exit discard\n"), err);
    assertTrue(out.contains("set rules access part-test action allow"), out);
    assertTrue(daemon.commits().active().text().indexOf("part-test") < 0, "exit discard left nothing committed");
    // an operational command in configuration mode is pointed at run, not run
    assertEquals(2, console("configure\nping\n"));
    assertTrue(err.contains("ping is an operational command: run ping"), err);
    assertEquals(2, console("configure\ncompare 1\n"), "compare N is for the shared candidate only");
    // one-shot arguments reach the shell's commands, and the haproxy.cfg export under both its names
    assertEquals(0, console("", "show", "rules"), err);
    assertTrue(out.contains("TYPE") && out.contains("HITS"), out);
    int code = console("", "show", "balancer", "haproxy");
    String cfg = out + err;
    assertEquals(code, console("", "show", "haproxy-config"));
    assertEquals(cfg, out + err);
    assertEquals(2, console("", "show"));
    assertTrue(err.contains("show what? status, config"), err);
  }

  @Test
  void aCommitOnAStaleCandidateIsRefusedWithWhatChangedMeanwhile() throws Exception {
    // Two sessions, interleaved, through the API the console uses.
    String token = TestNodes.token(dir.resolve("data"));
    String api = "http://127.0.0.1:" + admin + "/api/v1/sessions";
    String a = TestNodes.call("POST", api, token, null).json().getString("session");
    String b = TestNodes.call("POST", api, token, null).json().getString("session");
    assertEquals(200, TestNodes.call("POST", api + "/" + a + "/set", token,
        "{\"path\": [\"proxy\", \"maxHeaders\", \"90\"]}").status());
    assertEquals(200, TestNodes.call("POST", api + "/" + b + "/set", token,
        "{\"path\": [\"proxy\", \"maxHeaders\", \"70\"]}").status());
    assertEquals(200, TestNodes.call("POST", api + "/" + a + "/commit", token, "{}").status());
    TestNodes.Answer stale = TestNodes.call("POST", api + "/" + b + "/commit", token, "{}");
    assertEquals(409, stale.status(), stale.body());
    assertTrue(stale.json().getString("error").contains("changed since this session started"), stale.body());
    assertTrue(stale.json().getString("changed").contains("maxHeaders: 90"), stale.body());
    assertEquals(90, daemon.commits().active().config().proxy().maxHeaders(), "b's change did not undo a's");
  }

  @Test
  void aLongCommitReportsItsProgressForTheConsolesBar() throws Exception {
    // A million-entry category list takes the rules a noticeable time to compile.
    Path list = dir.resolve("big-category.txt");
    StringBuilder b = new StringBuilder(20 << 20);
    for (int i = 0; i < 1_000_000; i++) {
      b.append("host").append(i).append(".big.test\n");
    }
    Files.writeString(list, b);
    String token = TestNodes.token(dir.resolve("data"));
    String api = "http://127.0.0.1:" + admin + "/api/v1/";
    String id = TestNodes.call("POST", api + "sessions", token, null).json().getString("session");
    TestNodes.call("POST", api + "sessions/" + id + "/set", token,
        "{\"path\": [\"rules\", \"categories\", \"big\", \"file\", \"" + list + "\"]}");
    java.util.concurrent.CompletableFuture<TestNodes.Answer> commit = java.util.concurrent.CompletableFuture
        .supplyAsync(() -> {
          try {
            return TestNodes.call("POST", api + "sessions/" + id + "/commit", token, "{}");
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
    // While it runs, the progress is answered (the commit no longer holds the admin API's event loop).
    int answered = 0;
    while (!commit.isDone()) {
      assertEquals(200, TestNodes.call("GET", api + "commit/progress", token, null).status());
      answered++;
      Thread.sleep(5);
    }
    assertEquals(200, commit.get().status(), commit.get().body());
    io.vertx.core.json.JsonObject end = TestNodes.call("GET", api + "commit/progress", token, null).json();
    assertEquals(false, end.getBoolean("running"));
    assertEquals("done", end.getString("phase"));
    List<Object> steps = end.getJsonArray("steps").getList();
    assertEquals("checking the candidate", steps.get(0), steps.toString());
    assertTrue(steps.contains("compiling rules (1 category lists)"), steps.toString());
    assertTrue(steps.stream().anyMatch(x -> String.valueOf(x).matches("preparing services (\\d+)/\\1")), "every service "
        + "prepared, counted: " + steps);
    assertEquals("recording the revision", steps.get(steps.size() - 1), steps.toString());
    assertTrue(answered > 0);
    // The list goes again: the other tests' configs stay small.
    TestNodes.call("POST", api + "sessions/" + id + "/delete", token, "{\"path\": [\"rules\", \"categories\"]}");
    assertEquals(200, TestNodes.call("POST", api + "sessions/" + id + "/commit", token, "{}").status());
  }

  @Test
  void theInteractiveShellCompletesPathsAndExplainsChoicesOnARealTerminal() throws Exception {
    Peers.require("tmux", "tmux");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String cmd = String.join(" ", List.of(java, "-cp", System.getProperty("java.class.path"),
        "io.portcullis.console.Main", "--admin", "http://127.0.0.1:" + admin, "--data-dir",
        dir.resolve("data").toString()));
    String name = "pc" + ProcessHandle.current().pid();
    Run started = Host.runIn(dir, "tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "80", cmd);
    assertEquals(0, started.exit(), started.output());
    try {
      // (tmux trims trailing spaces from the screen it captures)
      String screen = awaitScreen(name, "@test-node>");
      assertTrue(screen.contains("Portcullis console"), screen);
      keys(name, "configure", "Enter");
      awaitPrompt(name, "@test-node#");
      keys(name, "set rules acc", "Tab");
      awaitScreen(name, "set rules access");
      keys(name, "?");
      screen = awaitScreen(name, "a new item's name");
      assertTrue(screen.contains("Possible completions:"), screen);
      keys(name, "web ac", "Tab");
      awaitScreen(name, "set rules access web action");
      keys(name, "?");
      screen = awaitScreen(name, "redirect");
      assertTrue(screen.contains("allow") && screen.contains("block"), screen);
      keys(name, "block", "Enter");
      awaitPrompt(name, "@test-node#");
      keys(name, "show | compare", "Enter");
      awaitScreen(name, "action: block");
      // Ctrl-C drops the line being typed, not the shell
      awaitPrompt(name, "@test-node#");
      int prompts = count(screen(name), "@test-node#");
      keys(name, "garbage");
      awaitScreen(name, "garbage");
      keys(name, "C-c");
      for (int i = 0; i < 100 && count(screen(name), "@test-node#") <= prompts; i++) {
        Thread.sleep(100);
      }
      awaitPrompt(name, "@test-node#");
      keys(name, "exit", "Enter");
      awaitScreen(name, "uncommitted changes");
      assertTrue(!screen(name).contains("unknown command garbage"), screen(name));
      keys(name, "exit", "Enter");
      awaitScreen(name, "Exiting configuration mode");
      keys(name, "exit", "Enter");
    } finally {
      Host.runIn(dir, "tmux", "kill-session", "-t", name);
    }
  }

  static void keys(String session, String... keys) throws Exception {
    for (String k : keys) {
      boolean literal = !k.equals("Enter") && !k.equals("Tab") && !k.startsWith("C-");
      Run r = literal ? Host.runIn(dir, "tmux", "send-keys", "-t", session, "-l", k)
          : Host.runIn(dir, "tmux", "send-keys", "-t", session, k);
      assertEquals(0, r.exit(), r.output());
    }
  }

  /** Waits until the shell waits for a line: the screen's last non-blank line is the prompt. */
  static void awaitPrompt(String session, String prompt) throws Exception {
    for (int i = 0; i < 300; i++) {
      List<String> lines = screen(session).lines().filter(l -> !l.isBlank()).toList();
      if (!lines.isEmpty() && lines.get(lines.size() - 1).strip().endsWith(prompt)) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no prompt: " + screen(session));
  }

  static int count(String s, String part) {
    return s.split(java.util.regex.Pattern.quote(part), -1).length - 1;
  }

  static String screen(String session) throws Exception {
    return Host.runIn(dir, "tmux", "capture-pane", "-p", "-t", session).output();
  }

  static String awaitScreen(String session, String text) throws Exception {
    String screen = "";
    for (int i = 0; i < 300; i++) {
      screen = Host.runIn(dir, "tmux", "capture-pane", "-p", "-t", session).output();
      if (screen.contains(text)) {
        return screen;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the screen never showed \"" + text + "\":\n" + screen);
  }
}
