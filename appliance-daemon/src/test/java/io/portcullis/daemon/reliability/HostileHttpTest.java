package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.proxy.MalformedHttp;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every hostile request (the proxy's 100 hand-made cases and some 400 generated from families) against a daemon in
 * its own JVM with its own ICAP server, in front of an origin that counts what reaches it. Each case is followed by a
 * sound sentinel request with {@code Connection: close}, so a case the proxy passes ends without waiting for a
 * timeout. A case must end (no hang), in an error status or a clean pass (the origin got the request once, with the
 * body sent), and no hidden request may ever reach the origin; the daemon must be alive and serving after all.
 */
@Tag("reliability")
class HostileHttpTest {
  // Not anchored to a line start: a response may follow a body that ends without a newline ("ok").
  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3}) [A-Z]");
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static CountingOrigin origin;
  static Process daemon;
  static int proxy;

  @BeforeAll
  static void start() throws Exception {
    origin = cleanup.add(new CountingOrigin());
    for (String[] a : HostileHttp.BAD_ANSWERS) {
      origin.bad(a[0].replace(' ', '-'), a[1]);
    }
    proxy = Host.freePort();
    daemon = cleanup.add(Peers.portcullis(dir, TestNodes.proxyNode("hostile", Host.freePort(), proxy,
        ", headerTimeout: 2s, idleTimeout: 3s, upstreamTimeout: 3s"), proxy));
  }

  /** What one case did. */
  record Outcome(String family, String name, boolean passed, boolean hang, boolean smuggled, String why)
      implements Report.Outcome {
  }

  @Test
  void everyHostileRequestEndsInAnErrorOrACleanPassAndNothingHiddenReachesTheOrigin() throws Exception {
    List<Runnable> checks = new ArrayList<>();
    List<java.util.concurrent.Callable<Outcome>> work = new ArrayList<>();
    int i = 0;
    for (MalformedHttp.Case c : MalformedHttp.all(origin.port())) {
      String id = "c" + i++;
      work.add(() -> judgeMade(id, c));
    }
    List<HostileHttp.Case> generated = HostileHttp.all(origin.port());
    for (int k = 0; k < generated.size(); k++) {
      HostileHttp.Case c = generated.get(k);
      String id = "h" + k;
      work.add(() -> judgeGenerated(id, c));
    }
    List<Outcome> outcomes = Parallel.all(12, work);
    boolean alive = daemon.isAlive();
    int sound = alive ? status(send("GET http://127.0.0.1:" + origin.port() + "/after HTTP/1.1\r\nHost: x\r\n"
        + "Connection: close\r\n\r\n")) : -1;
    Report.families("HTTP via proxy", outcomes, alive, true);
    List<String> failed = outcomes.stream().filter(o -> !o.passed()).map(o -> o.family() + " / " + o.name() + ": "
        + o.why()).toList();
    assertTrue(outcomes.size() >= 300, "at least 300 cases: " + outcomes.size());
    assertTrue(alive, "the daemon is alive after every case");
    assertEquals(200, sound, "a sound request is served after every case");
    assertTrue(failed.isEmpty(), failed.size() + " cases failed:\n" + String.join("\n", failed));
  }

  @Test
  void aConnectThatFailsClosesTheConnectionSoNothingAfterItEscapesTheFramingChecks() throws Exception {
    // 443 is an allowed CONNECT port and nothing listens there: 502/503, and then the connection must end, since the
    // framing guard treats whatever follows a CONNECT as the tunnel's bytes.
    String answer = send("CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n"
        + "GET http://127.0.0.1:" + origin.port() + "/SMUGGLED-after-connect HTTP/1.1\r\nHost: x\r\n\r\n");
    List<Integer> st = statuses(answer);
    Report.row("HTTP via proxy", "a CONNECT that fails, then a request on the same connection", 1,
        st.size() == 1 && st.get(0) >= 500 ? 1 : 0, daemon.isAlive() ? 0 : 1, 0,
        origin.count("/SMUGGLED-after-connect") > 0 ? 1 : 0, -1, -1, "statuses " + st);
    assertEquals(1, st.size(), "one answer, then the close: " + answer);
    assertTrue(st.get(0) >= 500, answer);
    assertEquals(0, origin.count("/SMUGGLED-after-connect"));
  }

  @Test
  void theWitnessOriginRefusesAmbiguousFramingAndRecordsTheHeaders() throws Exception {
    // A test of the test: what a lenient server would guess at, this origin refuses and records as refused.
    String h = "POST /w HTTP/1.1\r\nHost: w\r\n";
    List<String> ambiguous = List.of(h + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        h + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", h + "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        h + "Content-Length: +5\r\n\r\nhello", h + "X: a\r\n b\r\n\r\n", h + "X : a\r\n\r\n", h + "X: a\nY: b\r\n\r\n",
        h + "Transfer-Encoding: chunked\r\n\r\n5;x\nhello\r\n0\r\n\r\n", h + "Transfer-Encoding: chunked\r\n\r\n0x5\r\n");
    try (CountingOrigin witness = new CountingOrigin()) {
      for (String a : ambiguous) {
        assertTrue(raw(witness.port(), a).startsWith("HTTP/1.1 400 "), a);
      }
      assertTrue(raw(witness.port(), h + "X-Kept: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          + "5\r\nhello\r\n0\r\n\r\n").startsWith("HTTP/1.1 200 "));
      assertTrue(witness.awaitIdle(10_000));
      List<CountingOrigin.Seen> seen = witness.seen();
      assertEquals(ambiguous.size() + 1, seen.size(), seen.toString());
      for (int i = 0; i < ambiguous.size(); i++) {
        assertTrue(seen.get(i).refused() != null && !seen.get(i).complete(), ambiguous.get(i) + ": " + seen.get(i));
      }
      CountingOrigin.Seen sound = seen.get(ambiguous.size());
      assertTrue(sound.complete() && sound.refused() == null && sound.bodyBytes() == 5, sound.toString());
      assertEquals(List.of("1"), sound.header("x-kept"));
    }
  }

  private static String raw(int port, String bytes) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  /** A hand-made case: its status (any error if 0), a close, and the origin sees /cN only if it may. */
  private Outcome judgeMade(String id, MalformedHttp.Case c) throws Exception {
    String family = "hand-made (ProxyMalformedTest's)";
    // The sentinel too: the proxy must answer the error and close (its lingering close reads and drops what follows,
    // so the answer is not lost to a reset), and the sentinel must never reach the origin.
    Answer a = exchange(c.bytes(), id);
    boolean smuggled = smuggled(id, a);
    String why = a.hang() ? "no end within 10 s" : smuggled ? "a hidden request reached the origin"
        : madeFault(id, c, a, statuses(a.text()));
    return new Outcome(family, c.name(), why == null, a.hang(), smuggled, why);
  }

  /** Why a hand-made case that ended with nothing smuggled failed; null if it passed. */
  private String madeFault(String id, MalformedHttp.Case c, Answer a, List<Integer> st) {
    if (st.isEmpty()) {
      return "closed without an answer";
    } else if (c.status() != 0 ? !st.contains(c.status()) : st.stream().noneMatch(s -> s >= 400)) {
      return "statuses " + st + ", expected " + (c.status() == 0 ? "an error" : c.status()) + "; answer: "
          + a.text().replace("\r\n", "|").substring(0, Math.min(400, a.text().length()));
    } else if (!c.originMaySee() && origin.count("/" + id + " ") > 0) {
      return "the origin saw the refused request";
    } else if (origin.count("/END-" + id + " ") > 0) {
      return "the connection went on after the error";
    }
    return null;
  }

  /** Whether a hidden request of case {@code id} reached the origin, or a hidden answer the client. */
  private static boolean smuggled(String id, Answer a) {
    return origin.count("/SMUGGLED-" + id + " ") > 0 || a.text().contains("SMUGGLED");
  }

  /** A generated case: an error, or a clean pass with the body sent; an upstream fault: a 5xx or a cut. */
  private Outcome judgeGenerated(String id, HostileHttp.Case c) throws Exception {
    Answer a = exchange(c.bytes(), id);
    boolean smuggled = smuggled(id, a);
    List<Integer> st = statuses(a.text()).stream().filter(x -> x >= 200).toList(); // interim 1xx aside
    String why = a.hang() ? "no end within 10 s" : smuggled ? "a hidden request (or answer) got through"
        : generatedFault(id, c, a, st);
    return new Outcome(c.family(), c.name(), why == null, a.hang(), smuggled, why);
  }

  /** Why a generated case that ended with nothing smuggled failed; null if it passed. */
  private String generatedFault(String id, HostileHttp.Case c, Answer a, List<Integer> st) {
    if (st.isEmpty()) {
      return c.upstream() ? null : "closed without an answer";
    } else if (c.upstream()) {
      String head = a.text().substring(0, Math.max(0, a.text().indexOf("\r\n\r\n"))).toLowerCase();
      if (st.get(0) < 500 && head.contains("content-length:") && head.contains("transfer-encoding:")) {
        return "a response with both Content-Length and Transfer-Encoding was passed on";
      } else if (st.get(0) < 500 && st.get(0) != 200) {
        return "status " + st.get(0) + " for a broken answer";
      }
    } else if (st.get(0) < 400 && c.body() >= 0) {
      List<CountingOrigin.Seen> got = origin.seen().stream().filter(s -> s.line().contains("/" + id + " ")).toList();
      if (got.size() != 1 || got.get(0).bodyBytes() != c.body()) {
        return "passed, but the origin got " + got.stream().map(s -> s.bodyBytes() + " body bytes").toList()
            + " instead of " + c.body();
      }
    }
    return null;
  }

  record Answer(String text, boolean hang) {
  }

  /** Sends the case and a sentinel GET with Connection: close; reads until the proxy closes (10 s at most). */
  private Answer exchange(String bytes, String id) throws Exception {
    String sentinel = id == null ? "" : "GET http://127.0.0.1:" + origin.port() + "/END-" + id
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write((bytes + sentinel).getBytes(StandardCharsets.UTF_8));
        s.getOutputStream().flush();
      } catch (java.io.IOException e) {
        // the proxy closed while we were still sending: what it answered is read below
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      long deadline = System.nanoTime() + 10_000_000_000L;
      byte[] buf = new byte[65536];
      try {
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          out.write(buf, 0, n);
          if (System.nanoTime() > deadline) {
            return new Answer(out.toString(StandardCharsets.ISO_8859_1), true);
          }
        }
      } catch (SocketTimeoutException e) {
        return new Answer(out.toString(StandardCharsets.ISO_8859_1), true);
      } catch (java.io.IOException e) {
        // reset after the answer: the answer counts
      }
      return new Answer(out.toString(StandardCharsets.ISO_8859_1), false);
    }
  }

  private static List<Integer> statuses(String text) {
    return Wire.statuses(STATUS, text);
  }

  private String send(String bytes) throws Exception {
    try (Socket s = new Socket("127.0.0.1", proxy)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(bytes.getBytes(StandardCharsets.US_ASCII));
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  private static int status(String text) {
    List<Integer> st = statuses(text);
    return st.isEmpty() ? -1 : st.get(0);
  }
}
