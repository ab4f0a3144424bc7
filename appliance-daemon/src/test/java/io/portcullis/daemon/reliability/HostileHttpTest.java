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
 * Every hostile request (the proxy's 100 hand-made cases and the generated ones) against a daemon in its own JVM
 * with its own ICAP server, in front of a strict origin that records what reaches it; the Proxy-Authorization
 * cases go to a second daemon that asks for a login. Each case is followed by a sound sentinel request with
 * {@code Connection: close}, so a case the proxy passes ends without waiting for a timeout. A case must end (no
 * hang) with exactly the statuses it expects, then the close or the sentinel served; the origin must have got
 * neither a refused request nor the sentinel after a close, a passed one exactly once with its body, and nothing
 * it had to refuse; no hidden request may ever reach it. The daemon must be alive and serving after all.
 */
@Tag("reliability")
class HostileHttpTest {
  // Not anchored to a line start: a response may follow a body that ends without a newline ("ok").
  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.[01] (\\d{3}) [A-Z]");
  private static final String HASH = "$6$hostilesalt$ELGZkzmGoVoUM81TlgFn94xpXWXV9gnYMkCyyTuLKtwlij7zWtSxdIrrQYagM6RCM"
      + "JrTyMS3R/UkklxPd79zQ/"; // openssl passwd -6 -salt hostilesalt hostile-pw
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) static Path dir; // the daemons' logs, if it fails
  static CountingOrigin origin;
  static Process daemon;
  static Process authDaemon;
  static int proxy;
  static int authProxy;

  @BeforeAll
  static void start() throws Exception {
    origin = cleanup.add(new CountingOrigin());
    String timeouts = ", headerTimeout: 2s, idleTimeout: 3s, upstreamTimeout: 3s";
    proxy = Host.freePort();
    daemon = cleanup.add(Peers.portcullis(dir.resolve("open"), TestNodes.proxyNode("hostile", Host.freePort(), proxy,
        timeouts), proxy));
    authProxy = Host.freePort();
    // No lockout: the malformed logins are failures, and the cases run in parallel from one address.
    authDaemon = cleanup.add(Peers.portcullis(dir.resolve("auth"), TestNodes.proxyNode("hostile-auth", Host.freePort(),
        authProxy, timeouts + ", auth: { enabled: true, lockout: { maxFailures: 0 }, users: [ { name: "
        + HostileClasses.USER + ", password: '" + HASH + "' } ] }"), authProxy));
  }

  /** What one case did. */
  record Outcome(String family, String name, boolean passed, boolean hang, boolean smuggled, String why)
      implements Report.Outcome {
  }

  @Test
  void everyHostileRequestEndsAsItMustAndNothingHiddenOrAmbiguousReachesTheOrigin() throws Exception {
    List<MalformedHttp.Case> made = MalformedHttp.all(origin.port());
    List<HostileHttp.Case> generated = HostileHttp.all(origin);
    List<java.util.concurrent.Callable<Answer>> work = new ArrayList<>();
    for (int i = 0; i < made.size(); i++) {
      String id = "c" + i;
      MalformedHttp.Case c = made.get(i);
      work.add(() -> exchange(proxy, c.bytes(), id, ""));
    }
    for (int k = 0; k < generated.size(); k++) {
      String id = "h" + k;
      HostileHttp.Case c = generated.get(k);
      work.add(() -> c.auth() ? exchange(authProxy, c.bytes(), id, HostileClasses.login())
          : exchange(proxy, c.bytes(), id, ""));
    }
    List<Answer> answers = Parallel.all(12, work);
    boolean alive = daemon.isAlive() && authDaemon.isAlive();
    int sound = alive ? status(send("GET http://127.0.0.1:" + origin.port() + "/after HTTP/1.1\r\nHost: x\r\n"
        + "Connection: close\r\n\r\n")) : -1;
    // What the proxy sent on is all on record before the origin's side of each case is judged.
    boolean settled = origin.awaitIdle(30_000);
    List<Outcome> outcomes = new ArrayList<>();
    for (int i = 0; i < made.size(); i++) {
      outcomes.add(judgeMade("c" + i, made.get(i), answers.get(i)));
    }
    for (int k = 0; k < generated.size(); k++) {
      outcomes.add(judgeGenerated("h" + k, generated.get(k), answers.get(made.size() + k)));
    }
    Report.families("HTTP via proxy", outcomes, alive, true);
    List<String> failed = new ArrayList<>(outcomes.stream().filter(o -> !o.passed()).map(o -> o.family() + " / "
        + o.name() + ": " + o.why()).toList());
    origin.seen().stream().filter(s -> s.refused() != null && !ID.matcher(s.line()).find())
        .forEach(s -> failed.add("the origin refused a request of no case: " + s.refused() + " in " + s.line()));
    assertTrue(outcomes.size() >= 550, "at least 550 cases: " + outcomes.size());
    assertTrue(alive, "the daemons are alive after every case");
    assertEquals(200, sound, "a sound request is served after every case");
    assertTrue(settled, "the origin still had a request in progress 30 s after the last case");
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

  /** A case's id in a request line: what the origin's refusals are attributed by. */
  private static final Pattern ID = Pattern.compile("[/-][ch][0-9]+(?![0-9])");

  /** The requests of case {@code id} the origin recorded: {@code /ID} ({@code suffix} ""), {@code /ID/2} ("/2"). */
  private static List<CountingOrigin.Seen> seen(String prefix, String id, String suffix) {
    Pattern p = Pattern.compile(Pattern.quote(prefix + id + suffix) + "(?![0-9/])");
    return origin.seen().stream().filter(s -> p.matcher(s.line()).find()).toList();
  }

  /** Why the origin had to refuse a request of case {@code id} (the proxy sent on what it must not), or null. */
  private static String originFault(String id) {
    return origin.seen().stream().filter(s -> s.refused() != null && seenOf(id).test(s)).findFirst()
        .map(s -> "the origin had to refuse what the proxy sent on (" + s.refused() + "): " + s.line()).orElse(null);
  }

  /** Any request of case {@code id}: its own, a second, the sentinel, a hidden one. */
  private static java.util.function.Predicate<CountingOrigin.Seen> seenOf(String id) {
    Pattern p = Pattern.compile("[/-]" + id + "(?![0-9])");
    return s -> p.matcher(s.line()).find();
  }

  /** A hand-made case: its status (any error if 0), a close, and the origin sees /cN only if it may. */
  private Outcome judgeMade(String id, MalformedHttp.Case c, Answer a) {
    String family = "hand-made (ProxyMalformedTest's)";
    // The sentinel too: the proxy must answer the error and close (its lingering close reads and drops what follows,
    // so the answer is not lost to a reset), and the sentinel must never reach the origin.
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
          + shown(a.text());
    } else if (!c.originMaySee() && !seen("/", id, "").isEmpty()) {
      return "the origin saw the refused request";
    } else if (!seen("/END-", id, "").isEmpty()) {
      return "the connection went on after the error";
    }
    return originFault(id);
  }

  /** Whether a hidden request of case {@code id} reached the origin, or a hidden answer the client. */
  private static boolean smuggled(String id, Answer a) {
    return !seen("/SMUGGLED-", id, "").isEmpty() || a.text().contains("SMUGGLED");
  }

  /** A generated case: exactly its statuses, then the close or the sentinel; the origin got what it may. */
  private Outcome judgeGenerated(String id, HostileHttp.Case c, Answer a) {
    boolean smuggled = smuggled(id, a);
    String why = a.hang() ? "no end within 10 s" : smuggled ? "a hidden request (or answer) got through"
        : generatedFault(id, c.expect(), a);
    return new Outcome(c.family(), c.name(), why == null, a.hang(), smuggled, why);
  }

  /** Why a generated case that ended with nothing smuggled failed; null if it passed. */
  private String generatedFault(String id, HostileHttp.Expect e, Answer a) {
    // Interim answers aside (100 Continue); a 101 is final, and counts.
    List<Integer> st = statuses(a.text()).stream().filter(x -> x >= 200 || x == 101).toList();
    List<Integer> want = new ArrayList<>(e.statuses());
    if (!e.closes()) {
      want.add(200); // the sentinel's
    }
    if (!st.equals(want)) {
      return "statuses " + st + ", expected " + want + "; answer: " + shown(a.text());
    }
    String fault = originFault(id);
    if (fault != null) {
      return fault;
    }
    List<CountingOrigin.Seen> mine = seen("/", id, "");
    fault = share("", mine, e.origin(), e.body());
    fault = fault != null ? fault : share("/2", seen("/", id, "/2"), e.second(), -1);
    if (fault != null) {
      return fault;
    }
    List<CountingOrigin.Seen> end = seen("/END-", id, "");
    if (e.closes() ? !end.isEmpty() : end.size() != 1 || !end.get(0).complete()) {
      return "the sentinel reached the origin " + end.size() + " times; " + (e.closes() ? "after the close" : "once");
    }
    return e.check() == null ? null : e.check().fault(a.text(), mine);
  }

  /** Why the origin's share {@code got} of a request (its path plus {@code suffix}) is not {@code o}; null. */
  private static String share(String suffix, List<CountingOrigin.Seen> got, HostileHttp.Origin o, int body) {
    String what = got.stream().map(s -> (s.complete() ? "whole, " : "cut, ") + s.bodyBytes() + " body bytes")
        .toList().toString();
    return switch (o) {
      case NOTHING -> got.isEmpty() ? null : "the origin got the refused request" + suffix + ": " + what;
      case CUT -> got.stream().noneMatch(CountingOrigin.Seen::complete) ? null
          : "the origin got the refused request" + suffix + " whole: " + what;
      case ONCE -> got.size() == 1 && got.get(0).complete() && (body < 0 || got.get(0).bodyBytes() == body) ? null
          : "the origin got the request" + suffix + " " + what + ", not once whole" + (body < 0 ? "" : " with " + body
          + " body bytes");
      case ANY -> null;
    };
  }

  private static String shown(String text) {
    String t = text.replace("\r\n", "|");
    return t.length() <= 400 ? t : t.substring(0, 400) + "…";
  }

  record Answer(String text, boolean hang) {
  }

  /**
   * Sends the case to {@code port} and a sentinel GET (with {@code login} header lines) with Connection: close;
   * reads until the proxy closes (10 s at most).
   */
  private static Answer exchange(int port, String bytes, String id, String login) throws Exception {
    String sentinel = "GET http://127.0.0.1:" + origin.port() + "/END-" + id
        + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + login + "Connection: close\r\n\r\n";
    try (Socket s = new Socket("127.0.0.1", port)) {
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
