package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Slow clients against the proxy (its own JVM, headerTimeout 2s, bodyTimeout 2s, minBodyRate 1000): 50 slowloris heads
 * and 20 slow bodies are each cut with a 408 (or a close) in bounded time while a well-behaved client is served the
 * whole time, and an upload slow but above the minimum rate is not cut.
 */
@Tag("reliability")
class SlowClientsTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static CountingOrigin origin;
  static Process daemon;
  static int proxy;

  @BeforeAll
  static void start() throws Exception {
    origin = cleanup.add(new CountingOrigin());
    proxy = Host.freePort();
    daemon = cleanup.add(Peers.portcullis(dir, TestNodes.proxyNode("slow", Host.freePort(), proxy,
        ", headerTimeout: 2s, bodyTimeout: 2s, minBodyRate: 1000"), proxy));
  }

  /** How a slow client ended: cut (with 408 or a close) after ms, or still going when it had sent everything. */
  record Cut(boolean cut, boolean got408, long ms) {
  }

  /** Of some slow clients: how many were cut, and the most ms any took. */
  record Tally(int cut, long maxMs) {
    static Tally of(List<Future<Cut>> clients) throws Exception {
      int cut = 0;
      long max = 0;
      for (Future<Cut> f : clients) {
        Cut c = f.get();
        cut += c.cut() ? 1 : 0;
        max = Math.max(max, c.ms());
      }
      return new Tally(cut, max);
    }
  }

  /** Sends {@code bytes} {@code step} at a time every {@code pauseMs}, until the proxy answers or closes. */
  static Cut trickle(String bytes, int step, long pauseMs) throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      for (int i = 0; i < bytes.length(); i += step) {
        try {
          out.write(bytes.substring(i, Math.min(bytes.length(), i + step)).getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        } catch (java.io.IOException e) {
          break; // closed on us
        }
        if (in.available() > 0) {
          break;
        }
        Thread.sleep(pauseMs);
      }
      String answer;
      try {
        answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.io.IOException e) {
        answer = "";
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      boolean got408 = answer.startsWith("HTTP/1.1 408");
      return new Cut(got408 || !answer.startsWith("HTTP/1.1 2"), got408, ms);
    }
  }

  static int get(String path) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET http://127.0.0.1:" + origin.port() + path + " HTTP/1.1\r\nHost: x\r\n"
          + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String a = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      return a.startsWith("HTTP/1.1 ") ? Integer.parseInt(a.substring(9, 12)) : -1;
    }
  }

  @Test
  void slowHeadsAndSlowBodiesAreCutWhileAWellBehavedClientIsServed() throws Exception {
    String head = "GET http://127.0.0.1:" + origin.port() + "/slowloris HTTP/1.1\r\nHost: x\r\n" + "X-Pad: x\r\n".repeat(40)
        + "\r\n";
    String body = "POST http://127.0.0.1:" + origin.port() + "/slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 100000"
        + "\r\n\r\n";
    ExecutorService pool = Executors.newFixedThreadPool(72);
    try {
      List<Future<Cut>> heads = new ArrayList<>();
      List<Future<Cut>> bodies = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        heads.add(pool.submit(() -> trickle(head, 1, 300)));
      }
      for (int i = 0; i < 20; i++) { // the head at once, then 10 bytes every 300 ms: 33 B/s, well under 1000
        bodies.add(pool.submit(() -> slowBody(body)));
      }
      int served = 0;
      int tried = 0;
      long end = System.nanoTime() + 3_000_000_000L;
      while (System.nanoTime() < end) {
        tried++;
        served += get("/meanwhile") == 200 ? 1 : 0;
        Thread.sleep(100);
      }
      Tally headTally = Tally.of(heads);
      Tally bodyTally = Tally.of(bodies);
      long headMax = headTally.maxMs();
      int headCut = headTally.cut();
      long bodyMax = bodyTally.maxMs();
      int bodyCut = bodyTally.cut();
      Report.row("slow clients", "slowloris heads (1 byte / 300 ms), headerTimeout 2s", 50, headCut,
          daemon.isAlive() ? 0 : 1, 50 - headCut, -1, -1, headMax, "ms: longest until cut");
      Report.row("slow clients", "slow bodies (33 B/s), bodyTimeout 2s, minBodyRate 1000", 20, bodyCut,
          daemon.isAlive() ? 0 : 1, 20 - bodyCut, -1, -1, bodyMax, "ms: longest until cut");
      Report.row("slow clients", "a well-behaved client meanwhile", tried, served, 0, 0, -1, tried - served, -1, "");
      assertEquals(50, headCut, "every slowloris cut");
      assertEquals(20, bodyCut, "every slow body cut");
      assertTrue(headMax < 8000 && bodyMax < 10_000, "cut in bounded time: " + headMax + ", " + bodyMax);
      assertEquals(tried, served, "the well-behaved client is served throughout");
      assertEquals(0, origin.count("/slowloris"), "no slowloris head reached the origin");
    } finally {
      pool.shutdownNow();
    }
  }

  /** A POST whose body comes at 33 bytes a second. */
  static Cut slowBody(String head) throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      for (int sent = 0; sent < 100_000; sent += 10) {
        try {
          out.write("xxxxxxxxxx".getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } catch (java.io.IOException e) {
          break;
        }
        if (in.available() > 0 || (System.nanoTime() - t0) > 15_000_000_000L) {
          break;
        }
        Thread.sleep(300);
      }
      String answer;
      try {
        answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.io.IOException e) {
        answer = "";
      }
      return new Cut(!answer.startsWith("HTTP/1.1 2"), answer.startsWith("HTTP/1.1 408"),
          (System.nanoTime() - t0) / 1_000_000);
    }
  }

  @Test
  void anUploadSlowerThanTheNetworkButAboveTheMinimumRateIsNotCut() throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(("POST http://127.0.0.1:" + origin.port() + "/steady HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n"
          + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      for (int sent = 0; sent < 10_000; sent += 250) { // 2500 bytes a second for 4 s: over 1000, well past 2s
        out.write("y".repeat(250).getBytes(StandardCharsets.US_ASCII));
        out.flush();
        Thread.sleep(100);
      }
      String a = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      boolean ok = a.startsWith("HTTP/1.1 200") && origin.seen().stream()
          .anyMatch(x -> x.line().contains("/steady") && x.bodyBytes() == 10_000);
      Report.row("slow clients", "a steady upload at 2500 B/s for 4 s (over minBodyRate)", 1, ok ? 1 : 0, 0, 0, -1,
          -1, ms, "not cut");
      assertTrue(ok, a.substring(0, Math.min(300, a.length())));
    }
  }
}
