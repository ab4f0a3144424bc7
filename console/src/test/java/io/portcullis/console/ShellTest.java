package io.portcullis.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One-shot arguments, {@code -c}, scripts and the SSH console reach the admin API the same way (a stub of it). */
class ShellTest {
  @TempDir
  Path dir;
  HttpServer api;
  final List<String> calls = new CopyOnWriteArrayList<>();
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void start() throws IOException {
    api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext("/", x -> {
      String body = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      String call = x.getRequestMethod() + " " + x.getRequestURI() + (body.isEmpty() ? "" : " " + body);
      calls.add(call);
      String answer = call.startsWith("POST /api/v1/sessions ") || call.equals("POST /api/v1/sessions")
          ? "{\"session\":\"s1\",\"base\":1}"
          : call.contains("/commit") ? "{\"revision\":2}" : call.startsWith("GET /api/v1/status")
          ? "{\"node\":\"stub\",\"revision\":1}" : "{}";
      byte[] b = answer.getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    api.start();
    Files.writeString(dir.resolve("admin.token"), "token\n");
  }

  @AfterEach
  void stop() {
    api.stop(0);
  }

  Main main() {
    return new Main(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true,
        StandardCharsets.UTF_8));
  }

  int run(String... args) {
    String[] all = new String[args.length + 4];
    all[0] = "--admin";
    all[1] = "http://127.0.0.1:" + api.getAddress().getPort();
    all[2] = "--data-dir";
    all[3] = dir.toString();
    System.arraycopy(args, 0, all, 4, args.length);
    return main().run(all);
  }

  AdminClient client() {
    return new AdminClient(URI.create("http://127.0.0.1:" + api.getAddress().getPort() + "/"), "token", "test");
  }

  @Test
  void oneShotAndDashCCommitTheSharedCandidateAlike() {
    assertEquals(0, run("commit", "confirmed", "5"), err.toString());
    assertEquals(0, run("-c", "commit confirmed 5"), err.toString());
    assertEquals(List.of("POST /api/v1/commit {\"confirm\":\"5m\"}", "POST /api/v1/commit {\"confirm\":\"5m\"}"),
        calls);
    assertEquals(2, run("commit", "confirmed", "soon"));
    assertTrue(err.toString().contains("usage: commit [confirmed MINUTES]"), err.toString());
  }

  @Test
  void oneShotArgumentsReachTheShellsCommandsToo() {
    assertEquals(0, run("ping"), err.toString());
    assertTrue(out.toString().contains("node stub answers"), out.toString());
  }

  @Test
  void aScriptCommitsItsSessionsCandidateWithTheSameParser() throws Exception {
    assertEquals(0, main().lines(client(), List.of("configure", "commit confirmed 5 comment try it", "rollback 2",
        "exit")), err.toString());
    assertEquals(List.of("POST /api/v1/sessions", "POST /api/v1/sessions/s1/commit {\"confirm\":\"5m\",\"message\":\"try"
        + " it\"}", "POST /api/v1/sessions/s1/rollback {\"revision\":2}", "GET /api/v1/sessions/s1",
        "DELETE /api/v1/sessions/s1"), calls);
  }

  @Test
  void overSshWhatReadsTheNodesFilesIsRefusedBeforeAnyCall() throws Exception {
    assertEquals(1, main().remote(true).lines(client(), List.of("load /etc/passwd")));
    assertEquals(1, main().remote(true).lines(client(), List.of("configure", "run commit file /etc/passwd")));
    assertTrue(err.toString().contains("load is not available over SSH"), err.toString());
    assertTrue(err.toString().contains("commit file is not available over SSH"), err.toString());
    assertEquals(List.of("POST /api/v1/sessions", "DELETE /api/v1/sessions/s1"), calls);
    assertEquals(0, main().remote(true).lines(client(), List.of("commit comment a new file")), err.toString());
  }

  @Test
  void tabCompletionOffersTheTablesWordsAndACommandsKeywords() throws Exception {
    try (org.jline.terminal.Terminal t = org.jline.terminal.TerminalBuilder.builder().system(false).type("dumb")
        .streams(new java.io.ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream()).build()) {
      Interactive shell = new Interactive(client(), t, null, "test");
      assertTrue(shell.choices(List.of(), "").keySet().containsAll(List.of("configure", "show", "ping", "commit")));
      assertEquals(List.of("config", "candidate", "cluster"), List.copyOf(shell.choices(List.of("show"), "c").keySet()));
      assertEquals(List.of("file", "check", "confirmed", "force", "comment"),
          List.copyOf(shell.choices(List.of("commit"), "").keySet()));
      assertEquals(List.of("comment"), List.copyOf(shell.choices(List.of("commit", "confirmed", "5", "force"), "")
          .keySet()));
    }
  }
}
