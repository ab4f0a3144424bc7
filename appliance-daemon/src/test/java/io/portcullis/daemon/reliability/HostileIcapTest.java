package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.icap.codec.MalformedIcap;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
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
 * Hostile ICAP against the daemon's ICAP server in its own JVM: the codec's 64 hand-made cases and families generated
 * here (Encapsulated offsets, chunk sizes, methods, versions, URIs, header syntax and limits, preview and ieof misuse)
 * must each get an ICAP error (and a close, where the message is malformed); a head that trickles in is cut at
 * icap.headerTimeout while another client is served; messages cut short at any point leave a server that serves.
 */
@Tag("reliability")
class HostileIcapTest {
  private static final Pattern STATUS = Pattern.compile("ICAP/1\\.0 (\\d{3}) ");
  static final String REQ = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"; // 45 bytes
  static final String RES = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"; // 38 bytes
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Process daemon;
  static int icap;

  @BeforeAll
  static void start() throws Exception {
    icap = Host.freePort();
    daemon = cleanup.add(Peers.portcullis(dir, """
        node: { name: hostile-icap, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { listen: 127.0.0.1:%d, headerTimeout: 1s }
        """.formatted(Host.freePort(), icap), icap));
  }

  static String reqmod(String line, String headers, String encapsulated, String rest) {
    return line + "\r\nHost: 127.0.0.1\r\n" + headers + "Encapsulated: " + encapsulated + "\r\n\r\n" + rest;
  }

  static String sound() {
    return reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0", "Allow: 204\r\n", "req-hdr=0, null-body=45", REQ);
  }

  static String respmod(String headers, String encapsulated, String body) {
    return reqmod("RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0", "Allow: 204\r\n" + headers, encapsulated,
        REQ + RES + body);
  }

  /** A case: malformed (error and close) or only refused (an error; the connection may stay). */
  record Case(String family, String name, String bytes, boolean malformed) {
  }

  static List<Case> generated() {
    List<Case> out = new ArrayList<>();
    for (int off : new int[] {0, 1, 10, 44, 46, 47, 60, 1000}) {
      out.add(new Case("Encapsulated offsets", "null-body=" + off, reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0",
          "", "req-hdr=0, null-body=" + off, REQ), true));
    }
    for (int d : new int[] {-5, -2, -1, 1, 2, 5}) {
      out.add(new Case("Encapsulated offsets", "res-hdr " + (d > 0 ? "+" : "") + d, respmod("",
          "req-hdr=0, res-hdr=" + (45 + d) + ", res-body=83", "3\r\nabc\r\n0\r\n\r\n"), true));
      out.add(new Case("Encapsulated offsets", "res-body " + (d > 0 ? "+" : "") + d, respmod("",
          "req-hdr=0, res-hdr=45, res-body=" + (83 + d), "3\r\nabc\r\n0\r\n\r\n"), true));
    }
    for (String size : List.of("+3", "-3", "0x3", "g", "", "fffffffffffffffffff3", "3\u0000", "3 x", "3;\"", "3;\rx")) {
      out.add(new Case("chunk sizes", "[" + size.replace("\u0000", "NUL").replace("\r", "CR") + "]",
          respmod("", "req-hdr=0, res-hdr=45, res-body=83", size + "\r\nabc\r\n0\r\n\r\n"), true));
    }
    out.add(new Case("chunk sizes", "data longer than size", respmod("", "req-hdr=0, res-hdr=45, res-body=83",
        "3\r\nabcdef\r\n0\r\n\r\n"), true));
    out.add(new Case("chunk sizes", "no CRLF after data", respmod("", "req-hdr=0, res-hdr=45, res-body=83",
        "3\r\nabc0\r\n\r\n"), true));
    for (String m : List.of("reqmod", "REQMODX", "GET", "REQ MOD", "OPTIONS\u0000", "M".repeat(5000))) {
      out.add(new Case("methods", "[" + (m.length() > 20 ? "M×5000" : m.replace("\u0000", "NUL")) + "]",
          reqmod(m + " icap://127.0.0.1/av/reqmod ICAP/1.0", "", "req-hdr=0, null-body=45", REQ), false));
    }
    for (String v : List.of("ICAP/1.1", "ICAP/2.0", "HTTP/1.1", "icap/1.0", "ICAP/1.0 x", "ICAP/1.00", "")) {
      out.add(new Case("versions", "[" + v + "]", reqmod("REQMOD icap://127.0.0.1/av/reqmod" + (v.isEmpty() ? "" : " " + v),
          "", "req-hdr=0, null-body=45", REQ), false));
    }
    for (String u : List.of("/av/reqmod", "icap://", "http://127.0.0.1/av/reqmod", "icap://127.0.0.1:99999/av/reqmod",
        "icap://127.0.0.1/" + "a".repeat(20_000), "icap://127.0.0.1/av/nosuch", "icap://127.0.0.1/av/reqmod#x y")) {
      out.add(new Case("URIs", "[" + (u.length() > 40 ? u.substring(0, 40) + "…" : u) + "]",
          reqmod("REQMOD " + u + " ICAP/1.0", "", "req-hdr=0, null-body=45", REQ), false));
    }
    out.add(new Case("headers", "200 headers", reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0",
        "X-A: 1\r\n".repeat(200), "req-hdr=0, null-body=45", REQ), true));
    out.add(new Case("headers", "20 KiB header", reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0",
        "X-A: " + "a".repeat(20_000) + "\r\n", "req-hdr=0, null-body=45", REQ), true));
    for (String h : List.of("NoColon\r\n", "X-A: a\r\n b\r\n", "X-A : 1\r\n", "X-A: a\u0000b\r\n", ": v\r\n",
        "X A: 1\r\n")) {
      out.add(new Case("headers", "[" + h.strip().replace("\u0000", "NUL").replace("\r\n", "|") + "]",
          reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0", h, "req-hdr=0, null-body=45", REQ), true));
    }
    out.add(new Case("headers", "HTTP head with 1000 headers", reqmod("REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0", "",
        "req-hdr=0, null-body=" + (45 + 8000), "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n"
            + "X-A: 1\r\n".repeat(1000) + "\r\n"), true));
    for (String[] p : new String[][] {{"Preview: -1", "3\r\nabc\r\n0\r\n\r\n"}, {"Preview: abc", "3\r\nabc\r\n0\r\n\r\n"},
        {"Preview: 99999999999", "3\r\nabc\r\n0\r\n\r\n"}, {"Preview: 2", "3\r\nabc\r\n0\r\n\r\n"},
        {"Preview: 3", "3; ieof\r\nabc\r\n0\r\n\r\n"}, {"Preview: 3", "3\r\nabc\r\n0; ieof; x=\"\r\n\r\n"},
        {"Preview: 1", "3\r\nabc\r\n0; ieof\r\n\r\n"}}) {
      out.add(new Case("preview and ieof", "[" + p[0] + "] " + p[1].replace("\r\n", "|"),
          respmod(p[0] + "\r\n", "req-hdr=0, res-hdr=45, res-body=83", p[1]), true));
    }
    out.add(new Case("preview and ieof", "ieof without Preview", respmod("", "req-hdr=0, res-hdr=45, res-body=83",
        "0; ieof\r\n\r\n"), true));
    return out;
  }

  record Outcome(String family, boolean passed, boolean hang, String why) implements Report.Outcome {
    @Override
    public boolean smuggled() {
      return false; // this suite does not look for it: its column says so (-1)
    }
  }

  @Test
  void everyHostileMessageGetsAnIcapErrorAndTheServerServesOn() throws Exception {
    List<Case> cases = new ArrayList<>();
    MalformedIcap.cases().forEach((name, bytes) -> cases.add(new Case("hand-made (codec's)", name, bytes, true)));
    cases.addAll(generated());
    List<java.util.concurrent.Callable<Outcome>> work = new ArrayList<>();
    for (Case c : cases) {
      work.add(() -> judge(c));
    }
    List<Outcome> outcomes = Parallel.all(12, work);
    boolean alive = daemon.isAlive();
    Report.families("ICAP server", outcomes, alive, false);
    List<String> failed = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      if (!outcomes.get(i).passed()) {
        failed.add(cases.get(i).family() + " / " + cases.get(i).name() + ": " + outcomes.get(i).why());
      }
    }
    assertTrue(cases.size() >= 100, "at least 100 cases: " + cases.size());
    assertTrue(alive);
    assertEquals(204, status(exchange(sound()).text()), "a sound REQMOD after every case");
    assertTrue(failed.isEmpty(), failed.size() + " failed:\n" + String.join("\n", failed));
  }

  @Test
  void aTricklingHeadIsCutAtTheHeaderTimeoutWhileAnotherClientIsServed() throws Exception {
    long t0 = System.nanoTime();
    String msg = sound();
    try (Socket slow = new Socket("127.0.0.1", icap)) {
      slow.setSoTimeout(10_000);
      OutputStream out = slow.getOutputStream();
      int sent = 0;
      boolean cut = false;
      for (; sent < msg.length(); sent++) {
        try {
          out.write(msg.charAt(sent));
          out.flush();
        } catch (java.io.IOException e) {
          cut = true;
          break;
        }
        if (sent == 10) {
          assertEquals(204, status(exchange(sound()).text()), "a well-behaved client meanwhile");
        }
        if (slow.getInputStream().available() > 0) {
          break;
        }
        Thread.sleep(150);
      }
      String answer = new String(slow.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      boolean passed = answer.startsWith("ICAP/1.0 408") && sent < msg.length();
      Report.row("ICAP server", "slow head (1 byte per 150 ms, headerTimeout 1s)", 1, passed ? 1 : 0,
          daemon.isAlive() ? 0 : 1, 0, -1, -1, ms, "cut after " + sent + " of " + msg.length() + " bytes");
      assertTrue(passed, "408 before the head was whole (" + sent + " of " + msg.length() + " bytes sent, "
          + (cut ? "write failed" : "") + "): " + answer);
    }
  }

  @Test
  void theStartOfANextHeadLeftAfterAWholeMessageIsCutAtTheHeaderTimeoutToo() throws Exception {
    long t0 = System.nanoTime();
    try (Socket s = new Socket("127.0.0.1", icap)) {
      s.setSoTimeout(10_000);
      // A whole REQMOD and the first bytes of the next, in one write; then nothing.
      s.getOutputStream().write((sound() + "REQMOD icap://127.0.0.1/av").getBytes(StandardCharsets.ISO_8859_1));
      s.getOutputStream().flush();
      String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      List<Integer> st = statuses(all);
      boolean ok = st.equals(List.of(204, 408));
      Report.row("ICAP server", "a whole message, then the start of a head, then silence", 1, ok ? 1 : 0,
          daemon.isAlive() ? 0 : 1, 0, -1, -1, ms, "statuses " + st);
      assertEquals(List.of(204, 408), st, all);
    }
  }

  @Test
  void aHeadBegunWhileAnEarlierHeadsTimerIsPendingGetsItsWholeHeaderTimeout() throws Exception {
    // The connection's header timer is set by the first head and looks, when it fires, at the head in progress then:
    // a head begun 0.8 s later must still get its whole second, not the 0.2 s left of the first head's timer. Judged
    // by what the client receives: the head, finished after the first timer fired, is answered (204), not cut (408).
    try (Socket s = new Socket("127.0.0.1", icap); Socket witness = new Socket("127.0.0.1", icap)) {
      s.setSoTimeout(10_000);
      witness.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      java.io.InputStream in = s.getInputStream();
      long t0 = System.nanoTime();
      List<Integer> st = new ArrayList<>();
      out.write(sound().getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      st.add(status(readHead(in))); // answered: the first head's timer is set
      // A head begun after the first head's timer was set, left unfinished: its 408 says that timer has fired too.
      witness.getOutputStream().write("REQMOD icap://127.0.0.1/av".getBytes(StandardCharsets.ISO_8859_1));
      witness.getOutputStream().flush();
      while (System.nanoTime() - t0 < 800_000_000L) { // input: whole messages for 0.8 s, then the late head
        out.write(sound().getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        st.add(status(readHead(in)));
      }
      String late = sound();
      int half = late.indexOf("\r\n") + 2;
      out.write(late.substring(0, half).getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String witnessed = new String(witness.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      out.write(late.substring(half).getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      String answer = readHead(in);
      boolean ok = st.stream().allMatch(x -> x == 204) && witnessed.startsWith("ICAP/1.0 408")
          && answer.startsWith("ICAP/1.0 204");
      Report.row("ICAP server", "a head begun while an earlier head's timer is pending", 1, ok ? 1 : 0,
          daemon.isAlive() ? 0 : 1, 0, -1, -1, -1, st.size() + " messages answered, then the late head: "
          + answer.lines().findFirst().orElse(""));
      assertTrue(st.stream().allMatch(x -> x == 204), "every whole message answered: " + st);
      assertTrue(witnessed.startsWith("ICAP/1.0 408"), "the witness head is cut: " + witnessed);
      assertTrue(answer.startsWith("ICAP/1.0 204"), "the late head, whole within its own header timeout, is "
          + "answered, not cut by the first head's timer: " + answer);
    }
  }

  /** One answer head (through its blank line) read off {@code in}: what a 204 is whole. */
  private static String readHead(java.io.InputStream in) throws java.io.IOException {
    StringBuilder b = new StringBuilder();
    while (b.length() < 4 || !b.substring(b.length() - 4).equals("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new java.io.EOFException("closed after " + b);
      }
      b.append((char) c);
    }
    return b.toString();
  }

  @Test
  void messagesCutShortAtAnyPointLeaveAServerThatServes() throws Exception {
    String msg = respmod("", "req-hdr=0, res-hdr=45, res-body=83", "3\r\nabc\r\n0\r\n\r\n");
    int tried = 0;
    int passed = 0;
    for (int cut = 1; cut < msg.length(); cut += 5) {
      tried++;
      try (Socket s = new Socket("127.0.0.1", icap)) {
        s.getOutputStream().write(msg.substring(0, cut).getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
      } // the client goes away mid-message
      passed += status(exchange(sound()).text()) == 204 ? 1 : 0;
    }
    boolean alive = daemon.isAlive();
    Report.row("ICAP server", "messages cut short (client gone)", tried, passed, alive ? 0 : 1, 0, -1, -1, -1,
        "a sound REQMOD after each");
    assertTrue(alive);
    assertEquals(tried, passed, "a sound REQMOD is served after each cut");
  }

  private Outcome judge(Case c) throws Exception {
    Answer a = exchange(c.bytes());
    List<Integer> st = statuses(a.text());
    String why = null;
    if (a.hang()) {
      why = "no end within 10 s";
    } else if (st.isEmpty()) {
      why = "closed without an answer";
    } else if (st.get(0) < 400) {
      why = "status " + st.get(0);
    } else if (c.malformed() && !a.closed()) {
      why = "left open after " + st.get(0);
    }
    return new Outcome(c.family(), why == null, a.hang(), why);
  }

  record Answer(String text, boolean closed, boolean hang) {
  }

  /**
   * Sends {@code bytes} and reads the answer. An answer without a body (null-body) is whole at its blank line: then a
   * sound REQMOD follows on the same connection as a sentinel, and the connection counts as kept open if the sentinel
   * is answered, closed if the server ends it instead. Nothing within 10 s: a hang.
   */
  private static Answer exchange(String bytes) throws Exception {
    try (Socket s = new Socket("127.0.0.1", icap)) {
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
      } catch (java.io.IOException e) {
        // closed while we sent: the answer is read below
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[65536];
      int sentinelAt = -1; // where the sentinel's answer would begin
      while (true) {
        int n;
        try {
          n = in.read(buf);
        } catch (SocketTimeoutException e) {
          return new Answer(out.toString(StandardCharsets.ISO_8859_1), false, sentinelAt < 0);
        } catch (java.io.IOException e) {
          return new Answer(out.toString(StandardCharsets.ISO_8859_1), true, false);
        }
        if (n < 0) {
          return new Answer(out.toString(StandardCharsets.ISO_8859_1), true, false);
        }
        out.write(buf, 0, n);
        String t = out.toString(StandardCharsets.ISO_8859_1);
        if (sentinelAt < 0) {
          int end = t.indexOf("\r\n\r\n");
          if (end > 0 && t.substring(0, end).contains("null-body")) {
            sentinelAt = end + 4;
            try {
              s.getOutputStream().write(sound().getBytes(StandardCharsets.ISO_8859_1));
              s.getOutputStream().flush();
            } catch (java.io.IOException e) {
              // closed: the read below ends
            }
          }
        } else if (t.indexOf("\r\n\r\n", sentinelAt) > 0) {
          return new Answer(t.substring(0, sentinelAt), false, false); // the sentinel was answered: kept open
        }
      }
    }
  }

  private static List<Integer> statuses(String text) {
    return Wire.statuses(STATUS, text);
  }

  private static int status(String text) {
    List<Integer> st = statuses(text);
    return st.isEmpty() ? -1 : st.get(0);
  }
}
