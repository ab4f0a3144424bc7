package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Slapd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Basic proxy authentication against a real OpenLDAP (slapd started here): a directory user gets in with the right
 * password and not with a wrong one, an unknown name or one full of filter metacharacters; a user in a group only
 * through another group (alice: finance, which is in staff) is matched by a rule on the outer group, which our ICAP
 * server applies from the groups the proxy sends; a local user stays local. With slapd stopped: the readiness check
 * fails, logins get a 503 page (local ones too: fail closed by default; with onDirectoryDown: local, local users get
 * in); slapd back, alice again.
 */
class ProxyLdapAuthTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Slapd slapd;
  static Daemon daemon;
  static int origin;
  static int proxy;
  static int admin;
  static Curl curl;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    slapd = cleanup.add(Slapd.start(dir.resolve("slapd")), Slapd::stop);
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "staff.html", "for staff\n"));
    proxy = freePort();
    admin = freePort();
    curl = Curl.in(dir).hideErrors().maxTime(30).proxy(proxy).with("-i");
    String carol = runIn(dir, "openssl", "passwd", "-6", "carol-pw").output().strip();
    base = """
        admin: { listen: "127.0.0.1:%d" }
        icap: { listen: "127.0.0.1:%d" }
        proxy:
          listen: "127.0.0.1:%d"
          deniedDestinations: []
          accessLog: access.log
          auth:
            enabled: true
            lockout: { maxFailures: 0 }   # the hostile names are many wrong logins from one address
            users:
              - { name: carol, password: '%s', groups: [local-staff] }
            ldap:
              url: "%s"
              userBase: "%s"
              userFilter: "(uid={user})"
              groupBase: "%s"
              groupFilter: "(&(objectClass=groupOfNames)(member={dn}))"
              timeout: 2s
        rules:
          access:
            - { name: not-for-staff, when: { groups: [staff], urls: ["http://127.0.0.1:*/staff*"] }, action: block }
            - { name: not-for-alice, when: { users: [alice], urls: ["http://127.0.0.1:*/index.html?alice"] }, action: block }
        """.formatted(admin, freePort(), proxy, carol, slapd.url(), Slapd.PEOPLE, Slapd.GROUPS);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), base), Daemon::stop);
  }

  static String get(String user, String path) throws Exception {
    return curl.run("--proxy-user", user, "http://127.0.0.1:" + origin + path).output();
  }

  /** The status (UP, DOWN) of the readiness check "directory". */
  static String directoryCheck() throws Exception {
    return TestNodes.readiness(admin, "directory");
  }

  @Test
  void directoryUsersGetInAndTheirNestedGroupsMatchRules() throws Exception {
    assertTrue(get("alice:alicepw", "/index.html").startsWith("HTTP/1.1 200 "));
    assertTrue(get("bob:bobpw", "/index.html").startsWith("HTTP/1.1 200 "));
    assertTrue(get("alice:wrong", "/index.html").startsWith("HTTP/1.1 407 "));
    assertTrue(get("mallory:alicepw", "/index.html").startsWith("HTTP/1.1 407 "));
    // Filter metacharacters are the name's own letters, never a wildcard or a second condition (RFC 4515).
    for (String name : List.of("*", "al*", "alice)(uid=*", "*)(|(uid=*", "alice\\2a", "(uid=alice)")) {
      assertTrue(get(name + ":alicepw", "/index.html").startsWith("HTTP/1.1 407 "), name);
    }
    assertTrue(get("alice:", "/index.html").startsWith("HTTP/1.1 407 "), "no unauthenticated bind");
    // The directory finds " alice " too (it compares without surrounding spaces): the name is the entry's, so a
    // rule on alice still holds.
    String spaced = get(" alice :alicepw", "/index.html?alice");
    assertTrue(spaced.startsWith("HTTP/1.1 403 ") && spaced.contains("not-for-alice"), spaced);
    // alice is in staff through finance, bob directly; carol is local, in local-staff only.
    String alice = get("alice:alicepw", "/staff.html");
    assertTrue(alice.startsWith("HTTP/1.1 403 ") && alice.contains("not-for-staff"), alice);
    assertTrue(get("bob:bobpw", "/staff.html").startsWith("HTTP/1.1 403 "));
    assertTrue(get("carol:carol-pw", "/staff.html").startsWith("HTTP/1.1 200 "));
    Host.waitUntil("the users in the access log", () -> Files.exists(dir.resolve("access.log"))
        && Files.readString(dir.resolve("access.log")).contains(" alice ")
        && Files.readString(dir.resolve("access.log")).contains(" bob "));
    assertEquals("UP", directoryCheck());
    // test url finds the groups as a login would: from the directory, groups of groups included.
    io.portcullis.daemon.LocalConsole.Result t = io.portcullis.daemon.LocalConsole.run(admin, dir.resolve("data"), null,
        "test", "url", "http://127.0.0.1:" + origin + "/staff.html", "user", "alice");
    assertEquals(0, t.code(), t.toString());
    assertTrue(t.out().contains("groups: finance, staff (directory)") && t.out().contains("not-for-staff"), t.out());
    // show users: who logged in lately, how, with which groups.
    io.portcullis.daemon.LocalConsole.Result users = io.portcullis.daemon.LocalConsole.run(admin, dir.resolve("data"),
        null, "show", "users");
    assertEquals(0, users.code(), users.toString());
    assertTrue(users.out().matches("(?s).*\\balice +directory +finance, staff\\b.*")
        && users.out().matches("(?s).*\\bcarol +local +local-staff\\b.*"), users.out());
  }

  @Test
  void withTheDirectoryDownLoginsGet503AndTheNodeIsNotReady() throws Exception {
    slapd.stop();
    try {
      Host.waitUntil("the readiness check down", () -> directoryCheck().equals("DOWN"));
      String bob = get("bob:bobpw", "/index.html");
      assertTrue(bob.startsWith("HTTP/1.1 503 ") && bob.contains("directory"), bob);
      // Fail closed by default: a local user's login (none remembered after a commit) is refused too.
      TestNodes.commit(daemon, base + "# a new cache of logins\n", "forget the logins");
      String carol = get("carol:carol-pw", "/index.html");
      assertTrue(carol.startsWith("HTTP/1.1 503 "), carol);
      TestNodes.commit(daemon, base.replace("      timeout: 2s\n", "      timeout: 2s\n    onDirectoryDown: local\n"),
          "local users when the directory is down");
      assertTrue(get("carol:carol-pw", "/index.html").startsWith("HTTP/1.1 200 "), "local users get in");
      assertTrue(get("bob:bobpw", "/index.html").startsWith("HTTP/1.1 503 "), "the directory's do not");
    } finally {
      slapd.run();
      TestNodes.commit(daemon, base, "back");
    }
    Host.waitUntil("the readiness check up", () -> directoryCheck().equals("UP"));
    assertTrue(get("alice:alicepw", "/index.html").startsWith("HTTP/1.1 200 "));
  }
}
