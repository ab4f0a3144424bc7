package io.portcullis.daemon;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.daemon.TestNodes.config;
import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Wire;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class DaemonTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;
  Daemon daemon;
  int adminPort;
  int proxyPort;
  int icapPort;
  String admin;
  String token;

  @BeforeEach
  void ports() throws IOException {
    adminPort = freePort();
    proxyPort = freePort();
    icapPort = freePort();
    admin = "http://127.0.0.1:" + adminPort;
  }

  void start(String text) throws Exception {
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("data"));
  }

  static boolean listening(int port) {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The status line of an ICAP OPTIONS answer from {@code port}. */
  static String icapGreeting(int port) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
      s.setSoTimeout(5000);
      s.getOutputStream().write("OPTIONS icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = s.getInputStream().read()) >= 0 && c != '\r') {
        line.append((char) c);
      }
      return line.toString();
    }
  }

  String candidate(String yaml) {
    return new JsonObject().put("yaml", yaml).encode();
  }

  @Test
  void startsBindsItsPortsAndGoesReady() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    TestNodes.Answer ready = call("GET", admin + "/health/ready", null, null);
    assertEquals(200, ready.status(), ready.body());
    assertEquals("UP", ready.json().getString("outcome"));
    assertEquals(200, call("GET", admin + "/health/live", null, null).status());
    assertTrue(listening(proxyPort));
    assertTrue(icapGreeting(icapPort).equals("ICAP/1.0 200 OK"));
    JsonObject status = call("GET", admin + "/api/v1/status", token, null).json();
    assertEquals("test-node", status.getString("node"));
    assertEquals(proxyPort, status.getJsonObject("services").getJsonObject("proxy").getInteger("port"));
    assertEquals("disabled", status.getJsonObject("services").getJsonObject("balancer").getString("state"));
  }

  @Test
  void everyApiCallButHealthNeedsTheToken() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    assertEquals(401, call("GET", admin + "/api/v1/status", null, null).status());
    assertEquals(401, call("GET", admin + "/api/v1/config", "wrong-token-wrong-token-wrong-token", null).status());
    assertEquals(401, call("GET", admin + "/metrics", null, null).status());
    assertEquals(200, call("GET", admin + "/health/ready", null, null).status());
    TestNodes.Answer metrics = call("GET", admin + "/metrics", token, null);
    assertEquals(200, metrics.status());
    assertTrue(metrics.body().contains("portcullis_config_revision 1.0"), metrics.body());
    assertTrue(metrics.body().contains("portcullis_service_up{service=\"proxy\"} 1.0"));
    assertTrue(metrics.body().contains("jvm_memory_used_bytes"));
    Path tokenFile = dir.resolve("data/admin.token");
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(tokenFile)));
  }

  @Test
  void commitOverTheApiMovesTheProxyAndKeepsOtherConnections() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    int newProxy = freePort();
    try (Socket keepAlive = new Socket(InetAddress.getLoopbackAddress(), adminPort)) {
      assertEquals(200, rawGet(keepAlive, "/health/live"));
      assertEquals(200, call("PUT", admin + "/api/v1/candidate", token,
          candidate(config(adminPort, newProxy, icapPort))).status());
      TestNodes.Answer diff = call("GET", admin + "/api/v1/compare", token, null);
      assertTrue(diff.json().getString("diff").contains("+proxy: { listen: 127.0.0.1:" + newProxy + ", deniedDestinations: [] }"),
          diff.body());
      TestNodes.Answer commit = call("POST", admin + "/api/v1/commit", token, "{\"message\":\"move proxy\"}");
      assertEquals(200, commit.status(), commit.body());
      assertEquals(2, commit.json().getInteger("revision"));
      assertTrue(listening(newProxy));
      waitUntil(() -> !listening(proxyPort));
      assertEquals(200, rawGet(keepAlive, "/health/live"), "admin connection survives a commit");
    }
    assertEquals(config(adminPort, newProxy, icapPort), Files.readString(dir.resolve("portcullis.yaml")));
    JsonObject status = call("GET", admin + "/api/v1/status", token, null).json();
    assertEquals(2, status.getInteger("revision"));
    assertEquals(newProxy, status.getJsonObject("services").getJsonObject("proxy").getInteger("port"));
  }

  @Test
  void disablingTheIcapServerClosesItsPort() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    String off = config(adminPort, proxyPort, icapPort).replace("icap: { listen", "icap: { enabled: false, listen");
    call("PUT", admin + "/api/v1/candidate", token, candidate(off));
    assertEquals(200, call("POST", admin + "/api/v1/commit", token, "{}").status());
    waitUntil(() -> !listening(icapPort));
    JsonObject ready = call("GET", admin + "/health/ready", null, null).json();
    assertEquals("disabled", check(ready, "icap").getJsonObject("data").getString("state"));
    call("PUT", admin + "/api/v1/candidate", token, candidate(config(adminPort, proxyPort, icapPort)));
    assertEquals(200, call("POST", admin + "/api/v1/commit", token, "{}").status());
    assertTrue(icapGreeting(icapPort).equals("ICAP/1.0 200 OK"));
  }

  @Test
  void invalidCandidateIsRefusedWithEveryProblemNamed() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    TestNodes.Answer put = call("PUT", admin + "/api/v1/candidate", token,
        candidate("proxy: { listen: \"0.0.0.0:99999\" }\nicap: { lisen: x }\n"));
    assertEquals(200, put.status());
    assertFalse(put.json().getBoolean("valid"));
    TestNodes.Answer check = call("POST", admin + "/api/v1/commit/check", token, null);
    assertEquals(422, check.status());
    TestNodes.Answer commit = call("POST", admin + "/api/v1/commit", token, "{}");
    assertEquals(422, commit.status());
    JsonArray problems = commit.json().getJsonArray("problems");
    assertEquals(2, problems.size(), commit.body());
    assertEquals("proxy.listen", problems.getJsonObject(0).getString("path"));
    assertEquals("\"0.0.0.0:99999\" is not a port", problems.getJsonObject(0).getString("message"));
    assertEquals("icap.lisen", problems.getJsonObject(1).getString("path"));
    assertEquals(1, call("GET", admin + "/api/v1/config", token, null).json().getInteger("revision"));
  }

  @Test
  void commitToABusyPortFailsAndLeavesThePreviousConfigRunning() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    try (ServerSocket busy = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      int newIcap = freePort();
      call("PUT", admin + "/api/v1/candidate", token,
          candidate(config(adminPort, busy.getLocalPort(), newIcap)));
      TestNodes.Answer commit = call("POST", admin + "/api/v1/commit", token, "{}");
      assertEquals(409, commit.status(), commit.body());
      String error = commit.json().getString("error");
      assertTrue(error.contains("proxy cannot listen on 127.0.0.1:" + busy.getLocalPort()), error);
      assertTrue(error.contains("revision 1 stays in effect"), error);
      assertTrue(listening(proxyPort), "old proxy port still serves");
      assertTrue(icapGreeting(icapPort).startsWith("ICAP/1.0"), "old icap port still serves");
      assertFalse(listening(newIcap), "the icap move was undone with the failed proxy move");
      assertEquals(1, call("GET", admin + "/api/v1/config", token, null).json().getInteger("revision"));
    }
  }

  @Test
  void aServiceThatCannotBindAtStartIsReportedDownAndACommitFixesIt() throws Exception {
    try (ServerSocket busy = new ServerSocket(proxyPort, 50, InetAddress.getLoopbackAddress())) {
      start(config(adminPort, proxyPort, icapPort));
      TestNodes.Answer ready = call("GET", admin + "/health/ready", null, null);
      assertEquals(503, ready.status());
      JsonObject proxy = check(ready.json(), "proxy");
      assertEquals("DOWN", proxy.getString("status"));
      assertTrue(proxy.getJsonObject("data").getString("reason").contains("cannot listen on 127.0.0.1:" + proxyPort),
          ready.body());
      assertTrue(call("GET", admin + "/metrics", token, null).body()
          .contains("portcullis_service_up{service=\"proxy\"} 0.0"));
      int other = freePort();
      call("PUT", admin + "/api/v1/candidate", token, candidate(config(adminPort, other, icapPort)));
      assertEquals(200, call("POST", admin + "/api/v1/commit", token, "{}").status());
      assertEquals(200, call("GET", admin + "/health/ready", null, null).status());
      assertTrue(listening(other));
    }
  }

  @Test
  void rollbackRevisionsAndCommitConfirmedWorkOverTheApi() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    int p2 = freePort();
    call("PUT", admin + "/api/v1/candidate", token, candidate(config(adminPort, p2, icapPort)));
    TestNodes.Answer confirmed = call("POST", admin + "/api/v1/commit", token, "{\"confirm\":\"1s\"}");
    assertEquals(200, confirmed.status(), confirmed.body());
    assertTrue(confirmed.json().containsKey("confirmBy"));
    assertTrue(listening(p2));
    // Not confirmed: revision 1's config comes back as revision 3.
    waitUntil(() -> listening(proxyPort) && !listening(p2));
    waitUntil(() -> revision() == 3);
    JsonArray revs = call("GET", admin + "/api/v1/revisions", token, null).json().getJsonArray("revisions");
    assertEquals(3, revs.size());
    assertTrue(revs.getJsonObject(2).getBoolean("active"));
    assertEquals(409, call("POST", admin + "/api/v1/commit/confirm", token, null).status());
    assertEquals(200, call("POST", admin + "/api/v1/rollback", token, "{\"revision\":2}").status());
    assertEquals(config(adminPort, p2, icapPort),
        call("GET", admin + "/api/v1/candidate", token, null).json().getString("yaml"));
    assertEquals(404, call("POST", admin + "/api/v1/rollback", token, "{\"revision\":42}").status());
    assertEquals(400, call("POST", admin + "/api/v1/rollback", token, "not json").status());
  }

  int revision() {
    try {
      return call("GET", admin + "/api/v1/config", token, null).json().getInteger("revision");
    } catch (Exception e) {
      return -1;
    }
  }

  static JsonObject check(JsonObject health, String id) {
    for (Object o : health.getJsonArray("checks")) {
      JsonObject c = (JsonObject) o;
      if (c.getString("id").equals(id)) {
        return c;
      }
    }
    throw new AssertionError("no check " + id + " in " + health);
  }

  /** One HTTP/1.1 GET on an open socket, keep-alive; returns the status. */
  static int rawGet(Socket s, String path) throws IOException {
    s.setSoTimeout(5000);
    return Integer.parseInt(Wire.keepAliveGet(s, path, "x").substring(9, 12));
  }

  @Test
  void unknownEndpointsAndBadBodiesGetJsonErrors() throws Exception {
    start(config(adminPort, proxyPort, icapPort));
    TestNodes.Answer a = call("GET", admin + "/api/v1/nope", token, null);
    assertEquals(404, a.status());
    assertTrue(a.json().getString("error").contains("no such endpoint"));
    assertEquals(400, call("PUT", admin + "/api/v1/candidate", token, "{\"yml\":1}").status());
    assertEquals(400, call("POST", admin + "/api/v1/commit", token, "{\"confirm\":\"soon\"}").status());
    assertThrows(AssertionError.class, () -> check(new JsonObject().put("checks", new JsonArray()), "x"));
  }
}
