package io.portcullis.daemon;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.daemon.TestNodes.config;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Wire;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon as a process: what admins and systemd see (exit codes, signals, logs). */
class MainProcessTest {
  @TempDir
  Path dir;

  Process launch(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("out.log").toFile()).start();
  }

  /** Whether something accepts connections on 127.0.0.1:{@code port}. */
  static boolean accepts(int port) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Until /health/ready on the admin port says 200. */
  static void awaitReady(int admin) throws Exception {
    Host.waitUntil(() -> call("GET", "http://127.0.0.1:" + admin + "/health/ready", null, null).status() == 200);
  }

  String output() throws IOException {
    return Files.readString(dir.resolve("out.log"), StandardCharsets.UTF_8);
  }

  /** The test's portcullis.yaml: a whole config, the admin API on {@code admin}, the other ports free. */
  Path configFile(int admin) throws IOException {
    return Files.writeString(dir.resolve("portcullis.yaml"), config(admin, freePort(), freePort()));
  }

  @Test
  void invalidConfigExitsTwoListingEveryProblemAndStartsNothing() throws Exception {
    int proxy = freePort();
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, """
        proxy: { listen: "0.0.0.0:99999" }
        icap: { enabled: maybe }
        rules:
          access:
            - { name: a, action: redirect }
        """.replace("99999", "99999") + "admin: { listen: 127.0.0.1:" + proxy + " }\n");
    Process p = launch("--config", file.toString());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = output();
    assertEquals(2, p.exitValue(), out);
    assertTrue(out.contains("proxy.listen: \"0.0.0.0:99999\" is not a port (line 1, column 18)"), out);
    assertTrue(out.contains("icap.enabled: \"maybe\" is not true or false"), out);
    assertTrue(out.contains("rules.access[0].location: is required when action is redirect"), out);
    assertTrue(out.contains("nothing started"), out);
    assertTrue(!Files.exists(dir.resolve("portcullis-data")), "nothing written for an invalid config");
  }

  @Test
  void checkValidatesWithoutStarting() throws Exception {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(file, "proxy: { enabled: false }\n");
    Process p = launch("--check", "--config", file.toString());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), output());
    assertTrue(output().contains("is valid"));
  }

  @Test
  void unknownArgumentExitsTwo() throws Exception {
    Process p = launch("--frobnicate");
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    assertTrue(output().contains("unknown argument --frobnicate"));
  }

  @Test
  void startsGoesReadyAndExitsZeroOnSigterm() throws Exception {
    int admin = freePort();
    int proxy = freePort();
    int icap = freePort();
    Path file = dir.resolve("portcullis.yaml");
    Files.writeString(file, config(admin, proxy, icap));
    Path logs = dir.resolve("logs");
    Process p = launch("--config", file.toString(), "--log-dir", logs.toString());
    try {
      awaitReady(admin);
      Matcher m = Pattern.compile("ready in (\\d+) ms").matcher(output());
      assertTrue(m.find(), output());
      System.out.println("start to ready: " + m.group(1) + " ms (JVM start to all listeners bound)");
      assertTrue(Files.exists(dir.resolve("portcullis-data/admin.token")), "data dir defaults to beside the config");
      try (Socket idle = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "exits within the grace time with an idle connection open");
      }
      assertEquals(0, p.exitValue(), output());
      String log = Files.readString(logs.resolve("portcullis.log"));
      assertTrue(log.contains("ready in"), log);
      assertTrue(log.contains("at revision 1"), log);
      assertTrue(log.contains("SIGTERM received"), log);
      assertTrue(log.contains("stopped"), log);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void sigtermLetsARequestInFlightFinishBeforeExiting() throws Exception {
    int admin = freePort();
    Process p = launch("--config", configFile(admin).toString());
    try {
      awaitReady(admin);
      String token = TestNodes.token(dir.resolve("portcullis-data"));
      byte[] body = ("{\"yaml\": \"proxy: { enabled: false }\\n\"}").getBytes(StandardCharsets.US_ASCII);
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), admin)) {
        s.setSoTimeout(20000);
        var out = s.getOutputStream();
        out.write(("PUT /api/v1/candidate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
            + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.write(body, 0, 10);
        out.flush();
        Wire.awaitReadByPeer(s); // the daemon has the request's head: it is in flight
        p.destroy(); // SIGTERM while the request is half sent
        // The admin listener closed: the stop has reached the admin API, where a daemon that did not wait for the
        // request in flight would cut it.
        Host.waitUntil("the admin port to close after SIGTERM", () -> !accepts(admin));
        assertTrue(p.isAlive(), "the daemon waits for the request in flight");
        out.write(body, 10, body.length - 10);
        out.flush();
        String answer = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
        assertEquals("HTTP/1.1 200", answer, "the request in flight is answered");
      }
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), output());
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void withoutConfigItRunsTheNewestRevisionOfItsDataDir() throws Exception {
    int admin = freePort();
    Path data = dir.resolve("data");
    Files.createDirectories(data.resolve("revisions"));
    Files.writeString(data.resolve("revisions/000001.yaml"), "#@portcullis revision=1 time=2026-01-01T00:00:00Z"
        + " author=test message=seed\n" + config(admin, freePort(), freePort()));
    Process p = launch("--data-dir", data.toString());
    try {
      awaitReady(admin);
      assertEquals(1, call("GET", "http://127.0.0.1:" + admin + "/api/v1/config", TestNodes.token(data), null)
          .json().getInteger("revision"));
      p.destroy();
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue());
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * Answers are marked applied only once the node started on them: a start that fails (its admin port taken)
   * leaves them to the next start, which records them in a revision; a start after that does not apply them again.
   */
  @Test
  void unattendedAnswersCountAsAppliedOnlyOnceTheNodeStartedOnThem() throws Exception {
    int admin = freePort();
    Path file = configFile(admin);
    Path seed = dir.resolve("seed.env");
    Files.writeString(seed, "PORTCULLIS_NODE_NAME=seeded-node\nPORTCULLIS_ROLE=icap\n");
    Path marker = dir.resolve("portcullis-data/" + Seed.MARKER);
    try (java.net.ServerSocket taken = new java.net.ServerSocket(admin, 1, InetAddress.getLoopbackAddress())) {
      Process failed = launch("--config", file.toString(), "--seed", seed.toString());
      assertTrue(failed.waitFor(60, TimeUnit.SECONDS));
      assertEquals(Main.EXIT_FAILED, failed.exitValue(), output());
    }
    assertFalse(Files.exists(marker), "not marked: the node never ran on them");
    assertTrue(Files.readString(file).contains("seeded-node"), "the config file has them already");
    Process p = launch("--config", file.toString(), "--seed", seed.toString());
    try {
      awaitReady(admin);
      assertTrue(Files.exists(marker), output());
      assertTrue(output().contains("with the unattended-install answers from " + seed), output());
    } finally {
      p.destroy();
      p.waitFor(30, TimeUnit.SECONDS);
    }
    Files.writeString(file, Files.readString(file).replace("seeded-node", "renamed"));
    Process again = launch("--config", file.toString(), "--seed", seed.toString(), "--check");
    assertTrue(again.waitFor(60, TimeUnit.SECONDS));
    assertFalse(output().contains("unattended-install answers"), "applied once: " + output());
  }
}
