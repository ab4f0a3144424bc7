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
 * and 20 slow bodies each get a 408 before they are whole while a well-behaved client is served the whole time, and an
 * upload slow but above the minimum rate is not cut. Judged by what the clients receive, never by a clock.
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

  /** How a slow client's connection ended, by what it received. */
  enum End {
    /** A 408 answer. */
    GOT_408,
    /** Closed (or reset) without an answer. */
    CLOSED,
    /** Answered otherwise: what it sent was served, so it was never cut. */
    SERVED,
    /** Nothing at all within the read timeout after it had sent everything. */
    HUNG;

    boolean cut() {
      return this == GOT_408 || this == CLOSED;
    }
  }

  /** How a slow client ended, and after how many ms (reported, not asserted). */
  record Cut(End end, long ms) {
  }

  /** Of some slow clients: how many were cut, how many hung, and the most ms any took (for the report). */
  record Tally(int cut, int hung, long maxMs) {
    static Tally of(List<Future<Cut>> clients) throws Exception {
      int cut = 0;
      int hung = 0;
      long max = 0;
      for (Future<Cut> f : clients) {
        Cut c = f.get();
        cut += c.end().cut() ? 1 : 0;
        hung += c.end() == End.HUNG ? 1 : 0;
        max = Math.max(max, c.ms());
      }
      return new Tally(cut, hung, max);
    }
  }

  /**
   * Sends {@code bytes} ({@code head} at once, then {@code step} bytes every {@code pauseMs}: the slowness is the
   * input) until the proxy answers or closes, or all is sent; then reads the answer. All of it sent without a cut
   * means a whole request, which the proxy serves: the client then receives a 200, and that is the failure.
   */
  static Cut trickle(String head, String bytes, int step, long pauseMs) throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
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
      End end;
      try {
        String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        end = answer.startsWith("HTTP/1.1 408") ? End.GOT_408 : answer.isEmpty() ? End.CLOSED : End.SERVED;
      } catch (java.net.SocketTimeoutException e) {
        end = End.HUNG;
      } catch (java.io.IOException e) {
        end = End.CLOSED; // reset
      }
      return new Cut(end, (System.nanoTime() - t0) / 1_000_000);
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
    // Sent whole, a head takes about 50 s (165 bytes at 1 byte / 300 ms) and a body 15 s (500 bytes at 33 B/s), far
    // past the 2 s limits even on a loaded machine: one that is not cut is served, and the client sees it.
    // Connection: close, so that one served ends there and reads as served, not as a hang.
    String head = "GET http://127.0.0.1:" + origin.port() + "/slowloris HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "X-Pad: x\r\n".repeat(8) + "\r\n";
    String body = "POST http://127.0.0.1:" + origin.port() + "/slowbody HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        + "Content-Length: 500\r\n\r\n";
    ExecutorService pool = Executors.newFixedThreadPool(72);
    try {
      List<Future<Cut>> heads = new ArrayList<>();
      List<Future<Cut>> bodies = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        heads.add(pool.submit(() -> trickle("", head, 1, 300)));
      }
      for (int i = 0; i < 20; i++) { // the head at once, then 10 bytes every 300 ms: 33 B/s, well under 1000
        bodies.add(pool.submit(() -> trickle(body, "x".repeat(500), 10, 300)));
      }
      // The well-behaved client goes on until every slow client has ended: served the whole time they ran.
      int served = 0;
      int tried = 0;
      while (!heads.stream().allMatch(Future::isDone) || !bodies.stream().allMatch(Future::isDone) || tried == 0) {
        tried++;
        served += get("/meanwhile") == 200 ? 1 : 0;
        Thread.sleep(100); // pacing (input): a client, not a flood
      }
      Tally headTally = Tally.of(heads);
      Tally bodyTally = Tally.of(bodies);
      int headCut = headTally.cut();
      int bodyCut = bodyTally.cut();
      long wholeBodies = origin.seen().stream().filter(x -> x.line().contains("/slowbody") && x.bodyBytes() == 500)
          .count();
      Report.row("slow clients", "slowloris heads (1 byte / 300 ms), headerTimeout 2s", 50, headCut,
          daemon.isAlive() ? 0 : 1, headTally.hung(), -1, -1, headTally.maxMs(), "ms: longest until cut");
      Report.row("slow clients", "slow bodies (33 B/s), bodyTimeout 2s, minBodyRate 1000", 20, bodyCut,
          daemon.isAlive() ? 0 : 1, bodyTally.hung(), -1, -1, bodyTally.maxMs(), "ms: longest until cut");
      Report.row("slow clients", "a well-behaved client meanwhile", tried, served, 0, 0, -1, tried - served, -1, "");
      assertEquals(List.of(), ends(heads, End.GOT_408), "every slowloris answered 408 before its head was whole");
      assertEquals(List.of(), ends(bodies, End.GOT_408), "every slow body answered 408 before it was whole");
      assertEquals(tried, served, "the well-behaved client is served throughout");
      assertEquals(0, origin.count("/slowloris"), "no slowloris head reached the origin");
      assertEquals(0, wholeBodies, "no slow body reached the origin whole");
    } finally {
      pool.shutdownNow();
    }
  }

  /** The ends of {@code clients} other than {@code expected}, with their index. */
  static List<String> ends(List<Future<Cut>> clients, End expected) throws Exception {
    List<String> other = new ArrayList<>();
    for (int i = 0; i < clients.size(); i++) {
      End e = clients.get(i).get().end();
      if (e != expected) {
        other.add(i + ": " + e);
      }
    }
    return other;
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
