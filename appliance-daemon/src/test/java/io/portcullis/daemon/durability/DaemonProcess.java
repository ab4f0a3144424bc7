package io.portcullis.daemon.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The daemon in its own JVM (under a command such as strace when given one), on a config file and a data dir of the
 * test's choosing, driven through its admin API on loopback.
 */
final class DaemonProcess implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  final Path configFile;
  final Path dataDir;
  final int admin;
  private final Process process;
  private final Path log;

  /** An HTTP answer: status and body. */
  record Answer(int status, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  private DaemonProcess(Path configFile, Path dataDir, int admin, Process process, Path log) {
    this.configFile = configFile;
    this.dataDir = dataDir;
    this.admin = admin;
    this.process = process;
    this.log = log;
  }

  /** A config: the admin API on {@code admin}, the proxy on {@code proxy}, ICAP off, {@code rules} blocked hosts. */
  static String config(int admin, int proxy, int rules) {
    StringBuilder sb = new StringBuilder("""
        node: { name: durable, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { enabled: false }
        rules:
          access:
        """.formatted(admin, proxy));
    for (int i = 0; i < rules; i++) {
      sb.append("    - { name: r").append(i).append(", when: { hosts: [\"*.h").append(i)
          .append(".example.test\"] }, action: block }\n");
    }
    return sb.toString();
  }

  /**
   * Starts {@code Main} on {@code configFile} and {@code dataDir} behind {@code prefix} (a command and its arguments,
   * or empty), its output appended to {@code log}; returns once its admin API answers /health/ready.
   */
  static DaemonProcess start(List<String> prefix, Path configFile, Path dataDir, int admin, Path log)
      throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
        "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        "io.portcullis.daemon.Main", "--config", configFile.toString(), "--data-dir", dataDir.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    DaemonProcess d = new DaemonProcess(configFile, dataDir, admin, p, log);
    d.awaitReady();
    return d;
  }

  private void awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new AssertionError("the daemon exited with " + process.exitValue() + ":\n" + log());
      }
      try {
        if (call("GET", "/health/ready", null).status() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100); // polling the port, not waiting for a guessed time
    }
    close();
    throw new AssertionError("the daemon was not ready within 3 minutes:\n" + log());
  }

  /** Everything the daemon (and its prefix command) wrote so far. */
  String log() throws IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log)";
  }

  String token() throws IOException {
    return Files.readString(dataDir.resolve("admin.token")).strip();
  }

  Answer call(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path))
        .timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (!path.startsWith("/health")) {
      b.header("Authorization", "Bearer " + token());
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body());
  }

  /** Makes {@code yaml} the candidate and commits it ({@code confirm}: a commit confirmed's time, or null). */
  Answer commit(String yaml, String confirm) throws Exception {
    Answer c = call("PUT", "/api/v1/candidate", new JsonObject().put("yaml", yaml).encode());
    assertEquals(200, c.status(), c.body());
    JsonObject body = new JsonObject();
    if (confirm != null) {
      body.put("confirm", confirm);
    }
    return call("POST", "/api/v1/commit", body.encode());
  }

  /** The revision in effect and its text (secrets redacted; the tests' configs have none). */
  JsonObject active() throws Exception {
    Answer a = call("GET", "/api/v1/config", null);
    assertEquals(200, a.status(), a.body());
    return a.json();
  }

  /** Waits until the daemon's JVM (and a prefix command) exited. */
  void awaitExit() throws InterruptedException {
    if (!process.waitFor(2, TimeUnit.MINUTES)) {
      kill();
      throw new AssertionError("the daemon did not exit");
    }
  }

  /** SIGKILL to the daemon's JVM (not to a prefix command, which then exits too), as a crash would. */
  void kill() throws InterruptedException {
    jvm().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    process.waitFor(1, TimeUnit.MINUTES);
  }

  /** SIGTERM to the daemon's JVM: an orderly stop. */
  @Override
  public void close() throws InterruptedException {
    jvm().forEach(ProcessHandle::destroy);
    if (!process.waitFor(1, TimeUnit.MINUTES)) {
      kill();
    }
  }

  private Stream<ProcessHandle> jvm() {
    return Stream.concat(Stream.of(process.toHandle()), process.descendants()).filter(h -> h.info().command()
        .map(c -> c.endsWith("/java")).orElse(false));
  }

  /** The temp files an interrupted write left in {@code dirs} and the directories under them. */
  static List<Path> tempFiles(Path... dirs) throws IOException {
    List<Path> out = new ArrayList<>();
    for (Path d : dirs) {
      try (Stream<Path> s = Files.walk(d)) {
        s.filter(p -> p.getFileName().toString().startsWith(".tmp-")).forEach(out::add);
      }
    }
    return out;
  }
}
