package io.portcullis.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** What the package tests do on this host: run commands, find ports, hash files, serve a page, wait for health. */
public final class Host {
  /** The text the origin serves. */
  public static final String PAGE = "hello from the origin";

  private Host() {
  }

  /** A finished command: exit code and output (stdout and stderr together). */
  public record Run(int exit, String output) {
  }

  /** Runs {@code cmd} (stdin from {@code stdin} unless null); fails the test if it takes over two minutes. */
  public static Run runWithInput(Path stdin, String... cmd) throws Exception {
    return run(null, stdin, cmd);
  }

  public static Run run(String... cmd) throws Exception {
    return runWithInput(null, cmd);
  }

  /** Runs {@code cmd} in {@code dir}, its output kept in a file there; fails the test if it takes over two minutes. */
  public static Run runIn(Path dir, String... cmd) throws Exception {
    return run(dir, null, cmd);
  }

  /** The one way a test runs a command: output to a file (read byte for byte, as Latin-1), two minutes at most. */
  private static Run run(Path dir, Path stdin, String... cmd) throws Exception {
    Path out = dir == null ? Files.createTempFile("run", ".out") : Files.createTempFile(dir, "run", ".out");
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
    if (dir != null) {
      pb.directory(dir.toFile());
    }
    if (stdin != null) {
      pb.redirectInput(stdin.toFile());
    }
    Process p = pb.start();
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError(String.join(" ", cmd) + " did not finish in 120 s");
      }
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.ISO_8859_1));
    } finally {
      if (dir == null) {
        Files.deleteIfExists(out);
      }
    }
  }

  private static final java.util.Set<Integer> GIVEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * A port free now and never given before in this JVM: the kernel may hand the same free port out twice in a row,
   * and two servers of one test on one port serve each other's requests.
   */
  public static int freePort() throws IOException {
    for (int i = 0; i < 100; i++) {
      try (ServerSocket s = new ServerSocket(0)) {
        if (GIVEN.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      }
    }
    throw new IOException("no port not given before in 100 tries");
  }

  /** The SHA-256 of a file, in hex. */
  public static String sha256(Path p) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    try (InputStream in = Files.newInputStream(p)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Writes {@code size} random bytes (from {@code seed}: the same each run) to {@code file}; returns it. */
  public static Path randomFile(Path file, int size, long seed) throws IOException {
    byte[] data = new byte[size];
    new Random(seed).nextBytes(data);
    return Files.write(file, data);
  }

  /** An origin on 127.0.0.1 (any port) that answers every GET with {@link #PAGE}; stop it with {@code stop(0)}. */
  public static HttpServer origin() throws IOException {
    HttpServer origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    origin.createContext("/", x -> {
      byte[] b = PAGE.getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    origin.start();
    return origin;
  }

  /** A GET of {@code url} through the HTTP proxy on 127.0.0.1:{@code proxyPort}. */
  public static HttpResponse<String> viaProxy(int proxyPort, String url) throws Exception {
    HttpClient c = HttpClient.newBuilder().proxy(java.net.ProxySelector.of(new InetSocketAddress("127.0.0.1",
        proxyPort))).connectTimeout(Duration.ofSeconds(10)).build();
    return c.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /**
   * Waits until {@code condition} holds, asking every 25 ms; a condition that throws does not hold yet. Fails the test
   * if it has not held within 20 s.
   */
  public static void waitUntil(Callable<Boolean> condition) throws InterruptedException {
    waitUntil("the condition", condition);
  }

  /**
   * As {@link #waitUntil(Callable)}, failing with a message that names {@code what} was awaited (and what the condition
   * last threw, if it threw).
   */
  public static void waitUntil(String what, Callable<Boolean> condition) throws InterruptedException {
    waitUntil(what, Duration.ofSeconds(20), condition);
  }

  /**
   * As {@link #waitUntil(String, Callable)}, for at most {@code within}: a bound on a hang, never a claim about how
   * fast the awaited event comes (give it ample room on a loaded machine).
   */
  public static void waitUntil(String what, Duration within, Callable<Boolean> condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    Exception last = null;
    while (true) {
      try {
        if (Boolean.TRUE.equals(condition.call())) {
          return;
        }
      } catch (Exception e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("waited " + within.toSeconds() + " s for " + what + ", in vain"
            + (last == null ? "" : " (last: " + last + ")"));
      }
      Thread.sleep(25);
    }
  }

  /**
   * Waits (up to a minute) until /health/ready on the admin port says 200 while {@code daemon} runs; otherwise stops
   * it and fails with its log.
   */
  public static void awaitReady(Process daemon, int adminPort, Path log) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    int status = 0;
    for (int i = 0; i < 300 && status != 200 && daemon.isAlive(); i++) {
      try {
        status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health/ready"))
            .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
      } catch (IOException e) {
        Thread.sleep(200);
      }
    }
    if (status != 200) {
      daemon.destroy();
      daemon.waitFor(30, TimeUnit.SECONDS);
    }
    assertEquals(200, status, Files.exists(log) ? Files.readString(log) : "no log at " + log);
  }
}
