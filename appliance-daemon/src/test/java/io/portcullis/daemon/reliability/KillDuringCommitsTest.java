package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon, in its own JVM, is killed with SIGKILL at random moments while a client commits random configs through
 * the admin API as fast as it can, over 1000 commits in all: each time it must start again on exactly the last
 * config it acknowledged or the one it was committing, with its config file saying the same.
 */
@Tag("reliability")
class KillDuringCommitsTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  @TempDir
  static Path dir;

  int admin;
  int proxy;

  /** A random but valid config: the node's listeners, and a random set of access rules and proxy limits. */
  String randomConfig(Random r, int n) {
    StringBuilder sb = new StringBuilder("""
        node: { name: kill-%d, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, maxConnectionsPerOrigin: %d }
        icap: { enabled: false }
        rules:
          access:
        """.formatted(n, admin, proxy, 1 + r.nextInt(500)));
    int rules = 1 + r.nextInt(40);
    for (int i = 0; i < rules; i++) {
      sb.append("    - { name: r").append(i).append("-").append(r.nextInt(1_000_000)).append(", when: { hosts: [\"*.")
          .append(Long.toString(r.nextLong() & Long.MAX_VALUE, 36)).append(".test\"] }, action: block }\n");
    }
    return sb.toString();
  }

  @Test
  void afterSigkillDuringAThousandCommitsTheDaemonStartsOnExactlyTheOldOrTheNewConfig() throws Exception {
    admin = Host.freePort();
    proxy = Host.freePort();
    Random r = new Random(42);
    Path home = dir.resolve("node");
    Process daemon = Peers.portcullis(home, randomConfig(r, 0), admin);
    String token = null;
    int acked = 0;
    int rounds = 0;
    int wrong = 0;
    long restartMs = 0;
    List<String> problems = new ArrayList<>();
    try {
      while (acked < 1000) {
        rounds++;
        token = Files.readString(home.resolve("data/admin.token")).strip();
        String tk = token;
        AtomicReference<String> lastAcked = new AtomicReference<>(config(tk));
        AtomicReference<String> inFlight = new AtomicReference<>();
        AtomicInteger done = new AtomicInteger();
        Process p = daemon;
        Thread committer = new Thread(() -> {
          Random cr = new Random(r.nextLong());
          while (p.isAlive()) {
            String next = randomConfig(cr, done.get() + 1);
            inFlight.set(next);
            try {
              if (call("PUT", "/api/v1/candidate", tk, new JsonObject().put("yaml", next).encode()).statusCode() != 200
                  || call("POST", "/api/v1/commit", tk, "{}").statusCode() != 200) {
                return;
              }
              lastAcked.set(next);
              done.incrementAndGet();
            } catch (Exception e) {
              return; // killed
            }
          }
        });
        committer.start();
        Thread.sleep(200 + r.nextInt(1500));
        Peers.kill(daemon);
        committer.join(10_000);
        acked += done.get();
        long t0 = System.nanoTime();
        daemon = Peers.portcullis(home, null, admin);
        token = Files.readString(home.resolve("data/admin.token")).strip();
        String now = awaitConfig(token);
        restartMs = Math.max(restartMs, (System.nanoTime() - t0) / 1_000_000);
        String onDisk = Files.readString(home.resolve("portcullis.yaml"));
        boolean ok = (now.equals(lastAcked.get()) || now.equals(inFlight.get())) && onDisk.equals(now);
        if (!ok) {
          wrong++;
          problems.add("round " + rounds + ": after " + done.get() + " commits the daemon runs "
              + (now.equals(lastAcked.get()) ? "the last acknowledged" : now.equals(inFlight.get()) ? "the in-flight"
                  : "neither the acknowledged nor the in-flight") + " config; file "
              + (onDisk.equals(now) ? "the same" : "different"));
        }
        List<String> leftovers = new ArrayList<>();
        try (var files = Files.list(home.resolve("data/revisions"))) {
          files.map(f -> f.getFileName().toString()).filter(f -> f.startsWith(".tmp-")).forEach(leftovers::add);
        }
        if (!leftovers.isEmpty()) {
          problems.add("round " + rounds + ": temp files left after the restart: " + leftovers);
        }
      }
    } finally {
      Peers.stop(daemon);
    }
    Report.row("config", "SIGKILL during " + acked + " random commits: restarts", rounds, rounds - wrong, 0, 0, -1,
        -1, restartMs, "each restart on exactly the acknowledged or the in-flight config; ms: longest restart");
    assertTrue(acked >= 1000);
    assertEquals(List.of(), problems);
  }

  private String config(String token) throws Exception {
    HttpResponse<String> a = call("GET", "/api/v1/config", token, null);
    assertEquals(200, a.statusCode(), a.body());
    return new JsonObject(a.body()).getString("yaml");
  }

  private String awaitConfig(String token) throws Exception {
    for (int i = 0; i < 100; i++) {
      try {
        return config(token);
      } catch (java.io.IOException e) {
        Thread.sleep(100);
      }
    }
    return config(token);
  }

  private HttpResponse<String> call(String method, String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + path))
        .timeout(Duration.ofSeconds(20)).header("Authorization", "Bearer " + token)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
