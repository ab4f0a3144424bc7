package io.portcullis.daemon.events;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Eicar;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traffic events, rule hits, metrics and readiness on a real node: requests through our proxy (curl) and ICAP
 * transactions from another client (c-icap-client), read back through the admin API and the console.
 */
class EventsTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;
  Daemon daemon;
  int admin;
  int proxy;
  int icap;
  HttpServer origin;

  private void start(String extra) throws Exception {
    start(null, extra);
  }

  /** A node with {@code proxyMore} (flow YAML) added to its proxy section and {@code extra} sections. */
  private void start(String proxyMore, String extra) throws Exception {
    admin = freePort();
    proxy = freePort();
    icap = freePort();
    String text = TestNodes.config(admin, proxy, icap) + extra;
    if (proxyMore != null) {
      text = text.replace("proxy: { listen: 127.0.0.1:" + proxy + ", deniedDestinations: [] }",
          "proxy: { listen: 127.0.0.1:" + proxy + ", deniedDestinations: [], "
          + proxyMore + " }");
    }
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  private static final String RULES = """
      rules:
        access:
          - { name: no-casino, when: { hosts: ["*.casino.test"] }, action: block }
          - { name: to-portal, when: { hosts: [news.test] }, action: redirect, location: "http://portal.test/why" }
      """;

  private String curl(String url, String... extra) throws Exception {
    return Curl.in(dir).hideErrors().maxTime(20).proxy(proxy).with(extra).status(url);
  }

  private JsonArray events(String query) throws Exception {
    TestNodes.Answer a = call("GET", "http://127.0.0.1:" + admin + "/api/v1/events?limit=1000" + query,
        TestNodes.token(dir.resolve("data")), null);
    assertEquals(200, a.status(), a.body());
    return a.json().getJsonArray("events");
  }

  private List<JsonObject> eventsFor(String host) throws Exception {
    return events("&host=" + host).stream().map(o -> (JsonObject) o).toList();
  }

  private int sentinels;

  /** {@code events} less those of the sentinels {@link #awaitEventsFor} sent (from 192.0.2.1). */
  private static List<JsonObject> withoutSentinels(JsonArray events) {
    return events.stream().map(o -> (JsonObject) o).filter(e -> !"192.0.2.1".equals(e.getString("clientIp")))
        .toList();
  }

  /**
   * The events for {@code host} once there are at least {@code n} (the proxy records a request when its answer has
   * ended on the server's side, which may be a moment after curl has read it all), read after the event of a sentinel
   * ICAP transaction (from 192.0.2.1) sent then: the journal keeps the order events come in, so one more for
   * {@code host} (a duplicate) would be in by then, and a count is exact.
   */
  private List<JsonObject> awaitEventsFor(String host, int n) throws Exception {
    Host.waitUntil(n + " events for " + host, () -> eventsFor(host).size() >= n);
    String sentinel = "sentinel-" + ++sentinels + ".test";
    String http = "GET http://" + sentinel + "/ HTTP/1.1\r\nHost: " + sentinel + "\r\n\r\n";
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", icap)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("REQMOD icap://127.0.0.1:" + icap + "/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
          + "X-Client-IP: 192.0.2.1\r\nAllow: 204\r\nEncapsulated: req-hdr=0, null-body=" + http.length()
          + "\r\n\r\n" + http).getBytes(StandardCharsets.US_ASCII));
      StringBuilder answer = new StringBuilder(); // its head: a 204 is whole there
      for (int c; !answer.toString().endsWith("\r\n\r\n") && (c = s.getInputStream().read()) >= 0; ) {
        answer.append((char) c);
      }
      assertTrue(answer.toString().startsWith("ICAP/1.0 204"), "the sentinel: " + answer);
    }
    Host.waitUntil("the event of the sentinel " + sentinel, () -> !eventsFor(sentinel).isEmpty());
    return eventsFor(host);
  }

  @Test
  void eachRequestThroughTheProxyIsOneEventWithItsDecisionRuleAndFigures() throws Exception {
    origin = cleanup.add(Host.origin(), s -> s.stop(0));
    start(RULES);
    String page = "http://127.0.0.1:" + origin.getAddress().getPort() + "/page";
    assertEquals("200", curl(page));
    assertEquals("403", curl("http://www.casino.test/spin"));
    assertEquals("302", curl("http://news.test/today"));
    assertEquals("200", curl(page, "-d", "some=form&data=1"));
    awaitEventsFor("127.0.0.1", 2);
    awaitEventsFor("news.test", 1);

    List<JsonObject> blocked = awaitEventsFor("casino.test", 1);
    assertEquals(1, blocked.size(), "one event, not one per ICAP transaction: " + blocked);
    JsonObject b = blocked.get(0);
    assertEquals("proxy", b.getString("source"));
    assertEquals("block", b.getString("action"));
    assertEquals("access", b.getString("ruleType"));
    assertEquals("no-casino", b.getString("rule"));
    assertEquals("http://www.casino.test/spin", b.getString("url"));
    assertEquals("www.casino.test", b.getString("host"));
    assertEquals("127.0.0.1", b.getString("clientIp"));
    assertEquals("test-node", b.getString("node"));
    assertEquals(403, b.getInteger("status"));
    assertTrue(b.getLong("bytesOut") > 0 && b.getLong("icapMicros") > 0, b.encode());
    assertFalse(b.containsKey("upstreamMicros"), "the origin was never asked: " + b.encode());

    JsonObject r = eventsFor("news.test").get(0);
    assertEquals(List.of("redirect", "to-portal", 302), List.of(r.getString("action"), r.getString("rule"),
        r.getInteger("status")));

    List<JsonObject> allowed = eventsFor("127.0.0.1");
    assertEquals(2, allowed.size(), allowed.toString());
    for (JsonObject a : allowed) {
      assertEquals("allow", a.getString("action"));
      assertEquals(200, a.getInteger("status"));
      assertEquals(Host.PAGE.length(), a.getLong("bytesOut"), a.encode());
      assertTrue(a.getLong("upstreamMicros") >= 0 && a.getLong("icapMicros") > 0, a.encode());
    }
    assertEquals("POST", allowed.get(1).getString("method"));
    assertEquals(16, allowed.get(1).getLong("bytesIn"), "the form's body: " + allowed.get(1).encode());
    assertEquals(List.of(), withoutSentinels(events("&source=icap")), "our proxy's ICAP transactions are not recorded "
        + "twice");

    // Filters: action, rule, client CIDR; a bad one is a 400.
    assertEquals(1, events("&action=block").size());
    assertEquals(1, events("&rule=to-portal").size());
    assertEquals(4, events("&client=127.0.0.0/8").size());
    assertEquals(0, events("&client=10.0.0.0/8").size());
    assertEquals(0, events("&since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z").size());
    assertEquals(4, withoutSentinels(events("&since=10m")).size());
    assertEquals(400, call("GET", "http://127.0.0.1:" + admin + "/api/v1/events?client=10.0/8",
        TestNodes.token(dir.resolve("data")), null).status());

    // The console: filtered events, and the rules with their hits.
    assertEquals(0, console("show events host casino.test"));
    assertTrue(out.contains("http://www.casino.test/spin -> block access/no-casino 403"), out);
    assertFalse(out.contains("news.test"), out);
    assertEquals(0, console("show rules"));
    String table = out.lines().filter(l -> l.startsWith("access")).collect(Collectors.joining("\n"));
    assertTrue(table.matches("(?s)access\\s+no-casino\\s+block\\s+1\\naccess\\s+to-portal\\s+redirect\\s+1"), out);

    // Metrics: decisions, rule hits and the latency histograms, named as Prometheus expects.
    String metrics = call("GET", "http://127.0.0.1:" + admin + "/metrics", TestNodes.token(dir.resolve("data")),
        null).body();
    for (String m : List.of(
        "portcullis_decisions_total{action=\"block\",rule_type=\"access\",source=\"proxy\"} 1.0",
        "portcullis_rule_hits_total{rule=\"no-casino\",type=\"access\"} 1.0",
        "portcullis_proxy_upstream_duration_seconds_bucket{le=\"0.5\"}",
        "portcullis_proxy_icap_duration_seconds_count 4",
        "portcullis_icap_transaction_duration_seconds_bucket{method=\"REQMOD\",le=\"0.001\"}",
        "portcullis_icap_transactions_total{decision=\"block\",method=\"REQMOD\",status=\"200\"} 1.0",
        "portcullis_config_revision ", "portcullis_events_dropped_total 0.0", "portcullis_events_journal_size_bytes ",
        "jvm_memory_used_bytes", "vertx_pool_")) {
      assertTrue(metrics.contains(m), m + " in\n" + metrics);
    }

    // The admin port speaks HTTP/1.1 only: after an h2c upgrade, answers past 64 KiB (/metrics here) used to stall.
    try (java.net.Socket sock = new java.net.Socket("127.0.0.1", admin)) {
      sock.getOutputStream().write(("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
          + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nAuthorization: Bearer "
          + TestNodes.token(dir.resolve("data")) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String status = new java.io.BufferedReader(new java.io.InputStreamReader(sock.getInputStream(),
          StandardCharsets.US_ASCII)).readLine();
      assertEquals("HTTP/1.1 200 OK", status);
    }

    // The journal is on disk: a restarted node still shows the events.
    daemon.stop();
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), TestNodes.config(admin, proxy, icap) + RULES),
        Daemon::stop);
    assertEquals(1, eventsFor("casino.test").size());
  }

  @Test
  void anotherIcapClientsTransactionsAreRecordedByTheIcapServerWithoutOurHeaders() throws Exception {
    start(RULES);
    Run run = Host.runIn(dir, Peers.require("c-icap-client", "c-icap"), "-i", "127.0.0.1", "-p",
        Integer.toString(icap), "-s", "av/reqmod", "-req", "http://www.casino.test/spin", "-v");
    assertTrue(run.output().contains("403"), run.output());
    assertFalse(run.output().contains("X-Portcullis-Action"), "decision headers only for our proxy: " + run.output());
    List<JsonObject> e = awaitEventsFor("casino.test", 1);
    assertEquals(1, e.size(), e.toString());
    assertEquals(List.of("icap", "block", "no-casino", "GET"),
        List.of(e.get(0).getString("source"), e.get(0).getString("action"), e.get(0).getString("rule"),
            e.get(0).getString("method")));
  }

  @Test
  void readinessFailsWhileTheProxyFailsClosedWithoutAnIcapServiceOrTheScanEngineIsUnreachable() throws Exception {
    int dead = freePort();
    start("icap: { reqmod: [\"icap://127.0.0.1:" + dead + "/av/reqmod\"], onError: block }",
        "scan:\n  clamd: { enabled: true, address: \"127.0.0.1:" + dead + "\" }\n");
    TestNodes.Answer ready = call("GET", "http://127.0.0.1:" + admin + "/health/ready", null, null);
    assertEquals(503, ready.status(), ready.body());
    JsonObject checks = byId(ready.json());
    assertEquals("DOWN", checks.getJsonObject("icap-client").getString("status"));
    assertTrue(checks.getJsonObject("icap-client").getJsonObject("data").getString("reason")
        .contains("icap://127.0.0.1:" + dead + "/av/reqmod"), ready.body());
    assertEquals("DOWN", checks.getJsonObject("scan").getString("status"));
    assertTrue(checks.getJsonObject("scan").getJsonObject("data").getString("reason")
        .contains("clamd at 127.0.0.1:" + dead + " is unreachable"), ready.body());
    assertEquals("UP", checks.getJsonObject("proxy").getString("status"), "the proxy itself runs");
    // Failing closed is recorded as such.
    assertEquals("503", curl("http://www.example.test/"));
    JsonObject e = awaitEventsFor("example.test", 1).get(0);
    assertEquals(List.of("error", "proxy", "proxy.icap.onError", 503), List.of(e.getString("action"),
        e.getString("ruleType"), e.getString("rule"), e.getInteger("status")), e.encode());
  }

  @Test
  void aThreatFoundAfterTheAnswerBeganIsRecordedByTheIcapServerAndTheCutByTheProxy() throws Exception {
    // A 3 MiB zip with EICAR inside: larger than proxy.icap.maxBufferedBody, so no 204 is offered and the ICAP
    // server streams the answer while it collects the body, then cuts it off when the scan finds the threat.
    java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(zip)) {
      z.setLevel(0);
      byte[] filler = new byte[3 << 20];
      new java.util.Random(5).nextBytes(filler);
      z.putNextEntry(new java.util.zip.ZipEntry("data.bin"));
      z.write(filler);
      z.putNextEntry(new java.util.zip.ZipEntry("eicar.com"));
      z.write(Eicar.TEXT.getBytes(
          StandardCharsets.US_ASCII));
    }
    byte[] body = zip.toByteArray();
    origin = cleanup.add(HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0), s -> s.stop(0));
    origin.createContext("/", x -> {
      x.getResponseHeaders().add("Content-Type", "application/zip");
      x.sendResponseHeaders(200, body.length);
      x.getResponseBody().write(body);
      x.close();
    });
    origin.start();
    start(RULES + "  protection:\n    - { name: scan-all, action: block }\n");
    String got = curl("http://127.0.0.1:" + origin.getAddress().getPort() + "/big.zip");
    List<JsonObject> e = awaitEventsFor("127.0.0.1", 2);
    List<JsonObject> all = e;
    JsonObject icapEvent = e.stream().filter(x -> x.getString("source").equals("icap")).findFirst().orElseThrow(
        () -> new AssertionError("curl said " + got + "; events: " + all));
    assertEquals(List.of("block", "protection", "scan-all", "EICAR-Test-File"), List.of(icapEvent.getString("action"),
        icapEvent.getString("ruleType"), icapEvent.getString("rule"), icapEvent.getString("threat")));
    JsonObject proxyEvent = e.stream().filter(x -> x.getString("source").equals("proxy")).findFirst().orElseThrow();
    assertEquals(List.of("error", "proxy.icap.onError"), List.of(proxyEvent.getString("action"),
        proxyEvent.getString("rule")), proxyEvent.encode());
    assertTrue(proxyEvent.getLong("bytesOut") < body.length, "the user never got the whole file: " + proxyEvent);
  }

  @Test
  void anUploadCarryingEicarThroughOurProxyIsBlockedAndNeverReachesTheOrigin() throws Exception {
    java.util.concurrent.atomic.AtomicInteger reached = new java.util.concurrent.atomic.AtomicInteger();
    origin = cleanup.add(HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0), s -> s.stop(0));
    origin.createContext("/", x -> {
      reached.incrementAndGet();
      x.getRequestBody().readAllBytes();
      x.sendResponseHeaders(201, -1);
      x.close();
    });
    origin.start();
    start(RULES + "  protection:\n    - { name: scan-all, action: block }\n");
    Path eicar = dir.resolve("eicar.com");
    java.nio.file.Files.writeString(eicar, Eicar.TEXT);
    String url = "http://127.0.0.1:" + origin.getAddress().getPort() + "/api/files";
    assertEquals("403", curl(url, "-T", eicar.toString()));
    assertEquals(0, reached.get(), "the infected upload never reached the origin");
    assertEquals("201", curl(url, "--data-binary", "a clean form"));
    assertEquals(1, reached.get());
    JsonObject e = awaitEventsFor("127.0.0.1", 2).stream().filter(x -> "block".equals(x.getString("action")))
        .findFirst().orElseThrow();
    assertEquals(List.of("PUT", "protection", "scan-all", "EICAR-Test-File"), List.of(e.getString("method"),
        e.getString("ruleType"), e.getString("rule"), e.getString("threat")), e.encode());
  }

  @Test
  void anIcapClientThatGoesAwayMidMessageIsStillOneEvent() throws Exception {
    start(RULES);
    String http = "POST http://upload.test/form HTTP/1.1\r\nHost: upload.test\r\nContent-Length: 100\r\n\r\n";
    String icapHead = "REQMOD icap://127.0.0.1:" + icap + "/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
        + "X-Client-IP: 10.9.8.7\r\nEncapsulated: req-hdr=0, req-body=" + http.length() + "\r\n\r\n";
    try (java.net.Socket sock = new java.net.Socket("127.0.0.1", icap)) {
      sock.getOutputStream().write((icapHead + http + "64\r\nonly part of the body").getBytes(
          StandardCharsets.US_ASCII));
      sock.getOutputStream().flush();
      Wire.awaitReadByPeer(sock); // the server has the head before the close
    }
    List<JsonObject> e = awaitEventsFor("upload.test", 1);
    assertEquals(1, e.size(), e.toString());
    assertEquals(List.of("icap", "error", "10.9.8.7", "POST"), List.of(e.get(0).getString("source"),
        e.get(0).getString("action"), e.get(0).getString("clientIp"), e.get(0).getString("method")));
  }

  @Test
  void withBypassOrWithOurOwnIcapServerTheProxyIsReady() throws Exception {
    start("icap: { reqmod: [\"icap://127.0.0.1:" + freePort() + "/av/reqmod\"], onError: bypass }", "");
    TestNodes.Answer ready = call("GET", "http://127.0.0.1:" + admin + "/health/ready", null, null);
    assertEquals(200, ready.status(), ready.body());
    daemon.stop();
    start(""); // the proxy uses this node's own ICAP server, which answers
    ready = call("GET", "http://127.0.0.1:" + admin + "/health/ready", null, null);
    assertEquals(200, ready.status(), ready.body());
    assertEquals("block", byId(ready.json()).getJsonObject("icap-client").getJsonObject("data").getString("onError"));
  }

  @Test
  void aCommittedSyslogTargetGetsEachDecisionAsCefAndJsonThroughARealRsyslog() throws Exception {
    int udp = freePort();
    int tcp = freePort();
    io.portcullis.testsupport.Rsyslog.Server rs = io.portcullis.testsupport.Rsyslog.start(dir, udp, tcp, 0);
    try {
      start(RULES);
      String token = TestNodes.token(dir.resolve("data"));
      String next = TestNodes.config(admin, proxy, icap) + RULES + """
          events:
            syslog:
              - { name: siem, address: "127.0.0.1:%d", transport: udp, format: cef }
              - { name: elk, address: "127.0.0.1:%d", transport: tcp, format: json, facility: 17 }
          """.formatted(udp, tcp);
      assertEquals(200, call("PUT", "http://127.0.0.1:" + admin + "/api/v1/candidate", token,
          new JsonObject().put("yaml", next).encode()).status());
      TestNodes.Answer commit = call("POST", "http://127.0.0.1:" + admin + "/api/v1/commit", token, "{}");
      assertEquals(200, commit.status(), commit.body());
      assertEquals("403", curl("http://www.casino.test/spin?a=1|b=2"));
      List<String> lines = rs.await(l -> l.size() >= 2, "a CEF and a JSON message");
      String cef = lines.stream().filter(l -> l.contains("CEF:0")).findFirst().orElseThrow();
      // <local0.warning> = 16*8+4; the URL's pipe needs no escape in an extension value.
      assertTrue(cef.startsWith("132|portcullis|test-node|"), cef);
      assertTrue(cef.contains("CEF:0|Portcullis|Portcullis|" + io.portcullis.daemon.runtime.Version.get() + "|access-block|Blocked by access "
          + "rule|5|"), cef);
      assertTrue(cef.contains(" request=http://www.casino.test/spin?a\\=1|b\\=2 dhost=www.casino.test act=block"), cef);
      assertTrue(cef.contains("cs2Label=rule cs2=no-casino"), cef);
      String json = lines.stream().filter(l -> l.startsWith("140|")).findFirst().orElseThrow(); // local1.warning
      JsonObject e = new JsonObject(json.substring(json.indexOf("|{") + 1));
      assertEquals(List.of("block", "no-casino", "proxy"), List.of(e.getString("action"), e.getString("rule"),
          e.getString("source")));
      String metrics = call("GET", "http://127.0.0.1:" + admin + "/metrics", token, null).body();
      assertTrue(metrics.contains("portcullis_syslog_sent_total{target=\"elk\"} 1.0"), metrics);
      assertTrue(metrics.contains("portcullis_syslog_dropped_total{target=\"siem\"} 0.0"), metrics);
    } finally {
      Peers.stop(rs.process());
    }
  }

  private static JsonObject byId(JsonObject health) {
    JsonObject out = new JsonObject();
    health.getJsonArray("checks").forEach(c -> out.put(((JsonObject) c).getString("id"), c));
    return out;
  }

  private String out;

  private int console(String command) {
    LocalConsole.Result r = LocalConsole.run(admin, dir.resolve("data"), null, "-c", command);
    out = r.out();
    return r.code();
  }
}
