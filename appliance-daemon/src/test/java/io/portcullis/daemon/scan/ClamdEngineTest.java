package io.portcullis.daemon.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.testsupport.Clamd;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our clamd client against the real clamd with a signature database written here. */
public class ClamdEngineTest {
  public static final String MARKER = "portcullis-test-malware-marker";
  static final byte[] HASHED = "a file that the .hdb names by its MD5".getBytes(StandardCharsets.US_ASCII);
  @TempDir
  static Path dir;
  static Process clamd;
  static int port;

  static String md5(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
  }

  /** The signatures a test clamd loads: a body pattern (.ndb) and a file hash (.hdb). */
  public static Map<String, String> signatures() throws Exception {
    return Map.of(
        "portcullis.ndb", "Portcullis.Test.Marker:0:*:" + HexFormat.of().formatHex(MARKER.getBytes(
            StandardCharsets.US_ASCII)) + "\n",
        "portcullis.hdb", md5(HASHED) + ":" + HASHED.length + ":Portcullis.Test.Hash\n");
  }

  @BeforeAll
  static void start() throws Exception {
    port = Host.freePort();
    clamd = Clamd.start(dir.resolve("clamd"), port, signatures());
  }

  @AfterAll
  static void stop() {
    Peers.stop(clamd);
  }

  ClamdEngine engine() {
    return new ClamdEngine(new HostPort("127.0.0.1", port), null, 4, Duration.ofSeconds(5), Duration.ofSeconds(30));
  }

  @Test
  void patternAndHashSignaturesAreFoundWithClamdsNames() {
    byte[] body = new byte[300_000];
    new Random(1).nextBytes(body);
    byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(marker, 0, body, 200_000, marker.length); // across INSTREAM chunk boundaries
    assertEquals(new ScanResult.Infected("Portcullis.Test.Marker.UNOFFICIAL", "clamd"), engine().scan(body,
        body.length));
    assertEquals(new ScanResult.Infected("Portcullis.Test.Hash.UNOFFICIAL", "clamd"),
        engine().scan(HASHED, HASHED.length));
  }

  @Test
  void oneSessionCarriesScanAfterScanAndConcurrentScansGetTheirOwn() throws Exception {
    ClamdEngine e = engine();
    byte[] marked = ("xx" + MARKER + "yy").getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < 20; i++) {
      byte[] b = i % 2 == 0 ? marked : ("clean " + i).getBytes(StandardCharsets.US_ASCII);
      ScanResult r = e.scan(b, b.length);
      assertEquals(i % 2 == 0 ? new ScanResult.Infected("Portcullis.Test.Marker.UNOFFICIAL", "clamd")
          : ScanResult.CLEAN, r, "scan " + i);
    }
    assertEquals(1, e.sessionsOpened(), "20 scans one after another share one clamd session");
    var pool = java.util.concurrent.Executors.newFixedThreadPool(6);
    try {
      var futures = new java.util.ArrayList<java.util.concurrent.Future<ScanResult>>();
      for (int i = 0; i < 30; i++) {
        futures.add(pool.submit(() -> e.scan(marked, marked.length)));
      }
      for (var f : futures) {
        assertInstanceOf(ScanResult.Infected.class, f.get());
      }
    } finally {
      pool.shutdown();
      e.close();
    }
    assertTrue(e.sessionsOpened() <= 4, "at most maxConnections sessions: " + e.sessionsOpened());
  }

  @Test
  void cleanBodiesAreClean() {
    byte[] body = new byte[1_000_000];
    new Random(2).nextBytes(body);
    assertEquals(ScanResult.CLEAN, engine().scan(body, body.length));
  }

  /**
   * A clamd that answers the first scan of a session, then hangs (as a clamd stuck on a huge archive does). Real
   * clamd cannot be made to hang on cue, so this one stands in for that failure only.
   */
  static final class HangingClamd implements AutoCloseable {
    final java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();

    HangingClamd() throws java.io.IOException {
      Thread t = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            java.net.Socket s = server.accept();
            accepted.incrementAndGet();
            Thread w = new Thread(() -> serve(s));
            w.setDaemon(true);
            w.start();
          } catch (java.io.IOException e) {
            return;
          }
        }
      });
      t.setDaemon(true);
      t.start();
    }

    private static void serve(java.net.Socket s) {
      try (s; var in = new java.io.DataInputStream(s.getInputStream())) {
        in.readNBytes("zIDSESSION\0".length());
        in.readNBytes("zINSTREAM\0".length());
        for (int n = in.readInt(); n > 0; n = in.readInt()) {
          in.readNBytes(n);
        }
        s.getOutputStream().write("1: stream: OK\0".getBytes(StandardCharsets.US_ASCII));
        while (in.read() >= 0) {
          // hang: read the next scan, never answer it
        }
      } catch (java.io.IOException e) {
        // closed by the client's watchdog
      }
    }

    @Override
    public void close() throws java.io.IOException {
      server.close();
    }
  }

  @Test
  void aScanThatOutlivesTheTimeoutFailsWithoutARetryOnAFreshSession() throws Exception {
    try (HangingClamd hung = new HangingClamd()) {
      ClamdEngine e = new ClamdEngine(new HostPort("127.0.0.1", hung.server.getLocalPort()), null, 1,
          Duration.ofSeconds(1), Duration.ofMillis(400));
      assertEquals(ScanResult.CLEAN, e.scan(new byte[10], 10));
      ScanResult r = e.scan(new byte[10], 10); // on the pooled session, which now hangs
      assertInstanceOf(ScanResult.Failed.class, r);
      assertTrue(((ScanResult.Failed) r).reason().contains("took longer than 400 ms"), r.toString());
      assertEquals(1, hung.accepted.get(), "a timed-out scan must not be tried again on a new connection");
      e.close();
    }
  }

  @Test
  void aScannerReplacedByACommitFailsLateScansInsteadOfThrowing() throws Exception {
    Scanner s = new Scanner(java.util.List.of(engine()), 1, 4, Duration.ofSeconds(5), 1 << 20);
    s.close();
    ScanResult r = s.scan(new byte[10], 10).get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertInstanceOf(ScanResult.Failed.class, r);
    assertTrue(((ScanResult.Failed) r).reason().contains("replaced"), r.toString());
  }

  @Test
  void scansBeyondTheQueueFailAtOnceWhileTheEngineIsBusy() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    ScanEngine slow = new ScanEngine() {
      public String name() {
        return "slow";
      }

      public ScanResult scan(byte[] data, int length) {
        try {
          release.await();
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
        }
        return ScanResult.CLEAN;
      }
    };
    Scanner s = new Scanner(java.util.List.of(slow), 1, 2, Duration.ofSeconds(30), 1 << 20);
    try {
      var running = s.scan(new byte[1], 1);
      java.util.List<java.util.concurrent.CompletableFuture<ScanResult>> queued = new java.util.ArrayList<>();
      // One may still be on its way to the thread; with a queue of 2, the fourth cannot wait.
      for (int i = 0; i < 4; i++) {
        queued.add(s.scan(new byte[1], 1));
      }
      ScanResult last = queued.get(3).getNow(null);
      assertInstanceOf(ScanResult.Failed.class, last);
      assertTrue(((ScanResult.Failed) last).reason().contains("scan.queue"), last.toString());
      release.countDown();
      assertEquals(ScanResult.CLEAN, running.get(10, java.util.concurrent.TimeUnit.SECONDS));
    } finally {
      release.countDown();
      s.close();
    }
  }

  @Test
  void anUnreachableClamdIsAFailureNotAnException() throws Exception {
    ClamdEngine none = new ClamdEngine(new HostPort("127.0.0.1", Host.freePort()), null, 1, Duration.ofSeconds(1),
        Duration.ofSeconds(5));
    ScanResult r = none.scan(new byte[10], 10);
    assertInstanceOf(ScanResult.Failed.class, r);
    assertTrue(((ScanResult.Failed) r).reason().contains("clamd at 127.0.0.1:"), r.toString());
  }
}
