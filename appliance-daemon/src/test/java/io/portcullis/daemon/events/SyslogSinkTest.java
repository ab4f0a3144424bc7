package io.portcullis.daemon.events;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.EventsConfig.Format;
import io.portcullis.daemon.config.EventsConfig.Transport;
import io.portcullis.daemon.config.EventsConfig;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Rsyslog;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Syslog sinks against a real rsyslogd (Debian's rsyslog and rsyslog-gnutls) on loopback: UDP, TCP and TLS inputs
 * whose messages a raw template writes to a file this test reads. No timing assertions: results are polled for.
 */
class SyslogSinkTest {
  static final String VERSION = "9.8.7";
  static final String PID = Long.toString(ProcessHandle.current().pid());
  static final Instant T = Instant.parse("2024-05-06T07:08:09.123Z");

  @TempDir
  Path dir;
  final List<Process> peers = new ArrayList<>();
  final List<SyslogSink> sinks = new ArrayList<>();

  @AfterEach
  void stop() {
    sinks.forEach(SyslogSink::close);
    peers.forEach(Peers::stop);
  }

  @Test
  void cefOverUdpTcpAndTlsArrivesIntact() throws Exception {
    Rsyslog.certificates(dir);
    Rsyslog.Server rs = rsyslog(freePort(), freePort(), freePort());
    List<TrafficEvent> events = events("cef");
    record Case(Transport transport, int port, int facility) {
    }
    List<Case> cases = List.of(new Case(Transport.UDP, rs.udp(), 16), new Case(Transport.TCP, rs.tcp(), 17),
        new Case(Transport.TLS, rs.tls(), 23));
    List<String> expected = new ArrayList<>();
    for (Case c : cases) {
      String host = "node-" + c.transport.name().toLowerCase();
      SyslogSink sink = sink(target(host, c.transport, c.port, Format.CEF, c.facility, 100,
          c.transport == Transport.TLS ? "ca.pem" : ""), host);
      for (TrafficEvent e : events) {
        assertTrue(sink.offer(e));
        expected.add((c.facility * 8 + SyslogSink.severity(e.action())) + "|portcullis|" + host + "|" + PID
            + "|traffic|" + Cef.format(e, VERSION));
      }
    }
    List<String> got = rs.await(lines -> lines.size() >= expected.size(), "all CEF messages");
    // Datagrams and connections interleave: compare as sorted lists.
    assertEquals(expected.stream().sorted().toList(), got.stream().sorted().toList());
    for (SyslogSink s : sinks) {
      assertEquals(events.size(), s.sent(), s.target().name());
      assertEquals(0, s.dropped(), s.target().name());
      assertEquals(0, s.failed(), s.target().name() + ": " + s.lastError());
      assertTrue(s.connected(), s.target().name());
    }
  }

  @Test
  void jsonArrivesAndParsesBackToTheSameEvent() throws Exception {
    Rsyslog.Server rs = rsyslog(freePort(), freePort(), 0);
    List<TrafficEvent> events = events("json");
    sink(target("json-udp", Transport.UDP, rs.udp(), Format.JSON, 16, 100, ""), "node-udp").offer(events.get(0));
    SyslogSink tcp = sink(target("json-tcp", Transport.TCP, rs.tcp(), Format.JSON, 16, 100, ""), "node-tcp");
    events.forEach(tcp::offer);
    List<String> got = rs.await(lines -> lines.size() >= events.size() + 1, "all JSON messages");
    List<TrafficEvent> viaTcp = new ArrayList<>();
    for (String line : got) {
      String[] f = line.split("\\|", 6);
      TrafficEvent e = TrafficEvent.fromJson(new JsonObject(f[5]));
      if (f[2].equals("node-tcp")) {
        viaTcp.add(e);
      } else {
        assertEquals(events.get(0), e);
      }
    }
    assertEquals(events, viaTcp); // one connection: in order
  }

  @Test
  void udpDatagramsAreCutAt8KiBOnACharacterBoundary() throws Exception {
    Rsyslog.Server rs = rsyslog(freePort(), 0, 0);
    TrafficEvent big = event("allow", null, null, "http://example.com/" + "ü".repeat(6000), "big");
    SyslogSink sink = sink(target("udp", Transport.UDP, rs.udp(), Format.CEF, 16, 10, ""), "node-1");
    sink.offer(big);
    String line = rs.await(lines -> !lines.isEmpty(), "the big datagram").get(0);
    String msg = line.split("\\|", 6)[5];
    String cef = Cef.format(big, VERSION);
    assertTrue(msg.length() < cef.length() && cef.startsWith(msg), msg);
    String header = "<134>1 2024-05-06T07:08:09.123Z node-1 portcullis " + PID + " traffic - ";
    int size = (header + msg).getBytes(StandardCharsets.UTF_8).length;
    assertTrue(size <= SyslogSink.MAX_DATAGRAM && size > SyslogSink.MAX_DATAGRAM - 2, "datagram of " + size);
    assertFalse(msg.contains("\uFFFD"), "no broken character at the end");
  }

  @Test
  void tlsWithACaThatDoesNotMatchSendsNothingThenTheRightCaWorks() throws Exception {
    Rsyslog.certificates(dir);
    Run other = Host.runIn(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2",
        "-subj", "/CN=Some Other CA", "-addext", "basicConstraints=critical,CA:TRUE");
    assertEquals(0, other.exit(), other.output());
    Rsyslog.Server rs = rsyslog(0, 0, freePort());
    List<TrafficEvent> events = events("tls");

    SyslogSink wrong = sink(target("wrong", Transport.TLS, rs.tls(), Format.CEF, 16, 100, "other-ca.pem"), "wrong");
    events.forEach(wrong::offer);
    poll(() -> wrong.failed() > 0, "a failed TLS connect");
    String error = wrong.lastError();
    assertNotNull(error);
    assertTrue(error.contains("certificate"), error);
    assertFalse(wrong.connected());

    SyslogSink right = sink(target("right", Transport.TLS, rs.tls(), Format.CEF, 16, 100, "ca.pem"), "right");
    events.forEach(right::offer);
    List<String> got = rs.await(lines -> lines.size() >= events.size(), "the events over TLS with the right CA");
    assertTrue(got.stream().allMatch(l -> l.split("\\|", 6)[2].equals("right")), got.toString());
    assertEquals(0, wrong.sent());
    assertEquals(events.size(), right.sent());
  }

  @Test
  void aDownServerCostsNoWaitDropsPastTheQueueAndGetsTheQueuedOnceUp() throws Exception {
    int port = freePort();
    int queue = 20;
    SyslogSink sink = sink(target("down", Transport.TCP, port, Format.CEF, 16, queue, ""), "node-1");
    List<TrafficEvent> events = new ArrayList<>();
    int accepted = 0;
    for (int i = 0; i < 50; i++) {
      TrafficEvent e = event("allow", null, null, "http://example.com/" + i, "down");
      events.add(e);
      accepted += sink.offer(e) ? 1 : 0;
    }
    assertEquals(queue, accepted);
    assertEquals(50 - queue, sink.dropped());
    poll(() -> sink.failed() > 0, "a failed connect");
    assertNotNull(sink.lastError());
    assertFalse(sink.connected());

    Rsyslog.Server rs = rsyslog(0, port, 0);
    List<String> got = rs.await(lines -> lines.size() >= queue, "the queued events");
    List<String> expected = events.subList(0, queue).stream()
        .map(e -> "134|portcullis|node-1|" + PID + "|traffic|" + Cef.format(e, VERSION)).toList();
    assertEquals(expected, got);
    poll(() -> sink.sent() == queue, "sent() to count them");
    assertEquals(50 - queue, sink.dropped());
    assertTrue(sink.connected());
    assertNull(sink.lastError());
  }

  @Test
  void aRestartedServerGetsWhatIsSentAfterItWithNothingLost() throws Exception {
    Rsyslog.certificates(dir);
    int tcpPort = freePort();
    int tlsPort = freePort();
    Rsyslog.Server rs = rsyslog(0, tcpPort, tlsPort);
    SyslogSink tcp = sink(target("tcp", Transport.TCP, tcpPort, Format.CEF, 16, 100, ""), "node-tcp");
    SyslogSink tls = sink(target("tls", Transport.TLS, tlsPort, Format.CEF, 16, 100, "ca.pem"), "node-tls");
    List<TrafficEvent> events = events("restart");
    tcp.offer(events.get(0));
    tls.offer(events.get(0));
    rs.await(lines -> lines.size() >= 2, "the first events");
    poll(() -> tcp.sent() == 1 && tls.sent() == 1, "sent() to count them");

    // The server goes away between events; the idle connections it closed must not swallow the next ones.
    Peers.stop(rs.process());
    rs = rsyslog(0, tcpPort, tlsPort);
    for (TrafficEvent e : events.subList(1, events.size())) {
      tcp.offer(e);
      tls.offer(e);
    }
    List<String> got = rs.await(lines -> lines.size() >= 2 * events.size(), "every event");
    for (String host : List.of("node-tcp", "node-tls")) {
      List<String> msgs = got.stream().map(l -> l.split("\\|", 6)).filter(f -> f[2].equals(host))
          .map(f -> f[5]).toList();
      assertEquals(events.stream().map(e -> Cef.format(e, VERSION)).toList(), msgs, host);
    }
    assertEquals(events.size(), tcp.sent());
    assertEquals(events.size(), tls.sent());
  }

  @Test
  void closeIsIdempotentAndRefusesMore() throws Exception {
    SyslogSink sink = sink(target("closing", Transport.TCP, freePort(), Format.CEF, 16, 5, ""), "node-1");
    sink.close();
    sink.close();
    assertFalse(sink.offer(event("allow", null, null, "http://x/", "c")));
    assertEquals(1, sink.dropped());
  }

  // --- events and sinks

  static TrafficEvent event(String action, String ruleType, String threat, String url, String node) {
    return new TrafficEvent(T, node, "proxy", "10.1.2.3", "Jürgen Müller 山田", "GET", url, "example.com",
        "news", ruleType, ruleType == null ? null : "rule-" + ruleType, action, threat, "text/html", "html",
        200, 1234, 5678, 90, 120, 345);
  }

  static List<TrafficEvent> events(String node) {
    return List.of(
        event("allow", null, null, "http://example.com/", node),
        event("block", "access", null, "http://blocked.example/x", node),
        event("block", "protection", "Eicar-Test-Signature", "http://x/a|b=c\\d\ne\rf?q=1&r=2", node),
        event("redirect", "access", null, "http://example.com/r", node),
        event("error", "proxy", null, "http://example.com/err", node),
        new TrafficEvent(T.plusMillis(1), node, "icap", null, null, null, null, null, null, "bypass", "b", "allow",
            null, null, null, -1, -1, -1, -1, -1, -1));
  }

  static EventsConfig.SyslogTarget target(String name, Transport transport, int port, Format format, int facility,
      int queue, String ca) {
    return new EventsConfig.SyslogTarget(name, new HostPort("127.0.0.1", port), transport, format, facility, queue,
        ca, true);
  }

  SyslogSink sink(EventsConfig.SyslogTarget target, String hostname) {
    SyslogSink s = new SyslogSink(target, dir, hostname, VERSION);
    sinks.add(s);
    return s;
  }

  /** rsyslogd on the ports that are not 0, stopped after the test. */
  Rsyslog.Server rsyslog(int udp, int tcp, int tls) throws Exception {
    Rsyslog.Server server = Rsyslog.start(dir, udp, tcp, tls);
    peers.add(server.process());
    return server;
  }

  static void poll(java.util.function.BooleanSupplier done, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no " + what + " after 60 s");
      }
      Thread.sleep(50);
    }
  }
}
