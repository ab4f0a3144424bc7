package io.portcullis.daemon.icap.server;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who a request is for, across ICAP both ways with real peers: Squid authenticating its users (basic_ncsa_auth)
 * sends the name Base64-encoded in X-Authenticated-User and groups in the ICAP extensions draft's form, and our ICAP
 * server's user and group rules hold for them; our proxy sends its logged-in user and groups to c-icap, whose access
 * log shows the headers as they arrived, a group name with a line break left out rather than splitting the head.
 */
class IcapIdentityInteropTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static int origin;
  static int squid;
  static int proxy;
  static int cicap;
  static Daemon daemon;
  static int admin;

  @BeforeAll
  static void start() throws Exception {
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "alice.html", "a\n", "finance.html", "f\n",
        "staff.html", "s\n"));
    String alice = Host.runIn(dir, "openssl", "passwd", "-6", "alicepw").output().strip();
    String text = """
        admin: { listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        proxy:
          listen: 127.0.0.1:%d
          deniedDestinations: []
          auth:
            enabled: true
            users:
              - { name: alice, password: '%s', groups: [finance, "evil\\r\\nX-Injected: yes"] }
        rules:
          access:
            - { name: alice-not-here, when: { users: [alice], urls: ["http://127.0.0.1:*/alice*"] }, action: block }
            - { name: finance-not-here, when: { groups: [finance], urls: ["http://127.0.0.1:*/finance*"] },
                action: block }
            - { name: staff-not-here, when: { groups: [Staff], urls: ["http://127.0.0.1:*/staff*"] }, action: block }
        """;
    int icap = freePort();
    proxy = freePort();
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text.formatted(admin = freePort(), icap, proxy, alice)),
        Daemon::stop);

    Path squidDir = Files.createDirectories(dir.resolve("squid"));
    Files.writeString(squidDir.resolve("passwd"), "alice:" + Host.runIn(dir, "openssl", "passwd", "-1", "alicepw")
        .output().strip() + "\nbob:" + Host.runIn(dir, "openssl", "passwd", "-1", "bobpw").output().strip() + "\n");
    String groups = Base64.getEncoder().encodeToString(
        "WinNT://CORP/finance, LDAP://dc1.corp.test/cn=Staff,ou=Groups,dc=corp,dc=test".getBytes(StandardCharsets.UTF_8));
    squid = freePort();
    cleanup.add(Peers.squid(squidDir, squid, List.of(
        "http_port 127.0.0.1:" + squid,
        "auth_param basic program /usr/lib/squid/basic_ncsa_auth " + squidDir.resolve("passwd"),
        "auth_param basic realm portcullis-test",
        "acl users proxy_auth REQUIRED",
        "acl alice proxy_auth alice",
        "http_access allow users",
        "http_access deny all",
        "icap_enable on",
        "icap_send_client_ip on",
        "icap_send_client_username on",
        "icap_client_username_header X-Authenticated-User",
        "icap_client_username_encode on",
        "adaptation_meta X-Authenticated-Groups \"" + groups + "\" alice",
        "icap_service svc_req reqmod_precache bypass=off icap://127.0.0.1:" + icap + "/av/reqmod",
        "adaptation_access svc_req allow all")), Peers::stop);

    cicap = freePort();
    Path c = dir.resolve("c-icap");
    cleanup.add(Peers.cIcap(c, cicap, List.of(
        "LogFormat ids \"%im user=%{X-Client-Username}>ih au=%{X-Authenticated-User}>ih "
            + "gr=%{X-Authenticated-Groups}>ih inj=%{X-Injected}>ih\"",
        "AccessLog " + c + "/access.log ids")), Peers::stop);
  }

  static String viaSquid(String user, String page) throws Exception {
    return Curl.in(dir).proxy(squid).run("-s", "-o", "/dev/null", "-w", "%{http_code}", "-U", user,
        "http://127.0.0.1:" + origin + "/" + page).output().strip();
  }

  @Test
  void squidsEncodedUserAndDraftGroupsMeetOurRules() throws Exception {
    assertEquals("200", viaSquid("alice:alicepw", "index.html"));
    assertEquals("403", viaSquid("alice:alicepw", "alice.html"), "the user from Squid's Base64 X-Authenticated-User");
    assertEquals("403", viaSquid("alice:alicepw", "finance.html"), "WinNT://CORP/finance is finance");
    assertEquals("403", viaSquid("alice:alicepw", "staff.html"), "LDAP://.../cn=Staff,... is Staff");
    assertEquals("200", viaSquid("bob:bobpw", "alice.html"));
    assertEquals("200", viaSquid("bob:bobpw", "finance.html"));
    assertEquals("407", viaSquid("bob:wrong", "index.html"));
    Host.waitUntil("the ICAP server's event names alice's groups", () -> {
      io.vertx.core.json.JsonArray events = TestNodes.call("GET", "http://127.0.0.1:" + admin
          + "/api/v1/events?rule=finance-not-here", TestNodes.token(dir.resolve("data")), null).json()
          .getJsonArray("events");
      return events.stream().map(o -> (io.vertx.core.json.JsonObject) o).anyMatch(e -> "alice".equals(
          e.getString("user")) && "finance, Staff".equals(e.getString("groups")) && "icap".equals(e.getString("source")));
    });
  }

  @Test
  void ourProxyTellsCIcapTheUserAndGroups() throws Exception {
    String svc = "icap://127.0.0.1:" + cicap + "/echo";
    String text = daemon.commits().active().text().replace("deniedDestinations: []",
        "deniedDestinations: []\n  icap: { reqmod: [\"" + svc + "\"] }");
    TestNodes.commit(daemon, text, "c-icap reqmod");
    String got = Curl.in(dir).proxy(proxy).run("-s", "-o", "/dev/null", "-w", "%{http_code}", "-U", "alice:alicepw",
        "http://127.0.0.1:" + origin + "/index.html").output().strip();
    assertEquals("200", got);
    Path log = dir.resolve("c-icap/access.log");
    Host.waitUntil("c-icap logged the REQMOD", () -> Files.exists(log) && Files.readString(log).contains("REQMOD"));
    String line = Files.readString(log);
    String b64 = Base64.getEncoder().encodeToString("alice".getBytes(StandardCharsets.UTF_8));
    assertTrue(line.contains("user=alice au=" + b64 + " gr=finance inj=-"), line);
    Host.waitUntil("the proxy's event names alice's groups", () -> TestNodes.call("GET", "http://127.0.0.1:" + admin
        + "/api/v1/events?user=alice&source=proxy", TestNodes.token(dir.resolve("data")), null).json()
        .getJsonArray("events").stream().map(o -> (io.vertx.core.json.JsonObject) o)
        .anyMatch(e -> e.getString("groups", "").startsWith("finance, evil")));
  }
}
