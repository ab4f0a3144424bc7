package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Kdc;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Slapd;
import io.portcullis.testsupport.Wire;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kerberos single sign-on against a real MIT KDC and OpenLDAP started here: curl --proxy-negotiate with alice's
 * ticket (kinit) gets in as alice, her groups from the directory (staff through finance) matched by a rule; without
 * a ticket the 407 offers Negotiate and Basic, and Basic still works for a local user; garbage and oversized tokens
 * get 407 again, never a crash.
 */
class ProxyNegotiateTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Kdc kdc;
  static int origin;
  static int proxy;
  static int admin;

  @BeforeAll
  static void start() throws Exception {
    kdc = cleanup.add(Kdc.start(dir.resolve("kdc")), Kdc::stop);
    Slapd slapd = cleanup.add(Slapd.start(dir.resolve("slapd")), Slapd::stop);
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "staff.html", "for staff\n"));
    proxy = freePort();
    String carol = runIn(dir, "openssl", "passwd", "-6", "carol-pw").output().strip();
    String text = """
        admin: { listen: "127.0.0.1:%d" }
        icap: { listen: "127.0.0.1:%d" }
        proxy:
          listen: "127.0.0.1:%d"
          deniedDestinations: []
          accessLog: access.log
          auth:
            enabled: true
            lockout: { maxFailures: 0 }
            users:
              - { name: carol, password: '%s' }
            negotiate: { keytab: kdc/http.keytab, principal: "%s", krb5Conf: kdc/krb5.conf }
            ldap:
              url: "%s"
              userBase: "%s"
              groupBase: "%s"
              groupFilter: "(&(objectClass=groupOfNames)(member={dn}))"
        rules:
          access:
            - { name: not-for-staff, when: { groups: [staff], urls: ["http://127.0.0.1:*/staff*"] }, action: block }
        """.formatted(admin = freePort(), freePort(), proxy, carol, Kdc.SERVICE, slapd.url(), Slapd.PEOPLE, Slapd.GROUPS);
    cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
  }

  /** curl through the proxy at http://localhost:PORT (the SPN's host) with {@code env} and {@code args}. */
  static String curl(String[] env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("env"));
    cmd.addAll(Arrays.asList(env));
    cmd.addAll(List.of("curl", "-s", "-i", "--max-time", "30", "-x", "http://localhost:" + proxy));
    cmd.addAll(Arrays.asList(args));
    return Host.runIn(dir, cmd.toArray(String[]::new)).output();
  }

  @Test
  void aTicketLogsAliceInWithHerDirectoryGroups() throws Exception {
    String[] alice = kdc.env(kdc.kinit("alice", "alicepw"));
    String page = curl(alice, "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(page.contains("HTTP/1.1 200 ") && page.contains("hello"), page);
    String staff = curl(alice, "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/staff.html");
    assertTrue(staff.contains("HTTP/1.1 403 ") && staff.contains("not-for-staff"), staff);
    Host.waitUntil("alice in the access log", () -> Files.exists(dir.resolve("access.log"))
        && Files.readString(dir.resolve("access.log")).contains(" alice "));
    io.vertx.core.json.JsonObject users = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/users",
        TestNodes.token(dir.resolve("data")), null).json();
    assertTrue(users.getJsonArray("users").stream().map(o -> (io.vertx.core.json.JsonObject) o)
        .anyMatch(u -> u.getString("name").equals("alice") && u.getString("via").equals("kerberos")
            && u.getJsonArray("groups").contains("staff")), users.encode());
  }

  @Test
  void withoutATicketThe407OffersNegotiateAndBasicAndBasicWorks() throws Exception {
    String[] none = kdc.env(dir.resolve("no-such-cache"));
    String refused = curl(none, "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(refused.startsWith("HTTP/1.1 407 "), refused);
    assertTrue(refused.contains("Proxy-Authenticate: Negotiate\r\n") && refused.contains("Proxy-Authenticate: Basic "),
        refused);
    String carol = curl(none, "--proxy-user", "carol:carol-pw", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(carol.startsWith("HTTP/1.1 200 "), carol);
  }

  /** The Negotiate header curl sends for {@code env}'s ticket, caught by a listener standing in for the proxy. */
  static String captureToken(String[] env) throws Exception {
    try (java.net.ServerSocket catcher = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      List<String> cmd = new ArrayList<>(List.of("env"));
      cmd.addAll(Arrays.asList(env));
      cmd.addAll(List.of("curl", "-s", "--max-time", "10", "--proxy-negotiate", "-U", ":", "-x",
          "http://localhost:" + catcher.getLocalPort(), "http://127.0.0.1:" + origin + "/index.html"));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      try (Socket s = catcher.accept()) {
        s.setSoTimeout(10_000);
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
            StandardCharsets.US_ASCII));
        for (String line; (line = in.readLine()) != null && !line.isEmpty(); ) {
          if (line.regionMatches(true, 0, "Proxy-Authorization: Negotiate ", 0, 31)) {
            return line.substring("Proxy-Authorization: ".length());
          }
        }
        return null;
      } finally {
        p.destroy();
      }
    }
  }

  static String raw(String authorization) throws Exception {
    try (Socket s = Wire.connect("127.0.0.1", proxy)) {
      s.getOutputStream().write(("GET http://127.0.0.1:" + origin + "/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n"
          + "Proxy-Authorization: " + authorization + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      return Wire.readToClose(s);
    }
  }

  @Test
  void aReplayedTicketIsRefusedAndTheKdcIsNotNeededToAcceptOne() throws Exception {
    String[] bob = kdc.env(kdc.kinit("bob", "bobpw"));
    String token = captureToken(bob);
    assertTrue(token != null && token.startsWith("Negotiate "), String.valueOf(token));
    kdc.stop(); // the acceptor checks tickets with its keytab alone
    try {
      String first = raw(token);
      assertTrue(first.startsWith("HTTP/1.1 200 "), first.lines().findFirst().orElse(""));
      String again = raw(token);
      assertTrue(again.startsWith("HTTP/1.1 407 "), "a replay: " + again.lines().findFirst().orElse(""));
    } finally {
      kdc.run();
    }
  }

  @Test
  void garbageAndOversizedTokensGet407() throws Exception {
    String big = "A".repeat(20_000);
    for (String token : List.of("Z2FyYmFnZQ==", "not base64 at all!", "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==",
        big)) {
      try (Socket s = Wire.connect("127.0.0.1", proxy)) {
        s.getOutputStream().write(("GET http://127.0.0.1:" + origin + "/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Proxy-Authorization: Negotiate " + token + "\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        String answer = Wire.readToClose(s);
        assertTrue(answer.startsWith("HTTP/1.1 407 "), token.substring(0, Math.min(20, token.length())) + ": "
            + answer.lines().findFirst().orElse("(nothing)"));
      }
    }
  }
}
