package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.SambaAd;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proxy users from a real Active Directory (Samba's domain controller): Basic logins found by sAMAccountName and
 * checked by binding as the user, the service account's password a secret; groups of groups found by the DC itself
 * with the in-chain matching rule (LDAP_MATCHING_RULE_IN_CHAIN) in one search, where without it only the direct
 * group is known.
 */
class ProxyActiveDirectoryTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int origin;
  static int admin;
  static Curl curl;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    cleanup.add(SambaAd.start(dir.resolve("ad")), SambaAd::stop);
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "staff.html", "for staff\n"));
    int proxy = freePort();
    curl = Curl.in(dir).hideErrors().maxTime(30).proxy(proxy).with("-i");
    base = """
        admin: { listen: "127.0.0.1:%d" }
        icap: { listen: "127.0.0.1:%d" }
        proxy:
          listen: "127.0.0.1:%d"
          deniedDestinations: []
          auth:
            enabled: true
            cacheTtl: 0s
            ldap:
              url: "%s"
              bindDn: "%s"
              bindPassword: "%s"
              userBase: "%s"
              userFilter: "(sAMAccountName={user})"
              groupBase: "%s"
              groupFilter: "(member:1.2.840.113556.1.4.1941:={dn})"
              nestedDepth: 0
              timeout: 5s
        rules:
          access:
            - { name: not-for-staff, when: { groups: [staff], urls: ["http://127.0.0.1:*/staff*"] }, action: block }
        """.formatted(admin = freePort(), freePort(), proxy, SambaAd.URL, SambaAd.SERVICE_DN,
        SambaAd.SERVICE_PASSWORD, SambaAd.USERS, SambaAd.BASE);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), base), Daemon::stop);
  }

  static String get(String user, String path) throws Exception {
    return curl.run("--proxy-user", user, "http://127.0.0.1:" + origin + path).output();
  }

  @Test
  void adUsersLogInAndTheDcFindsGroupsOfGroups() throws Exception {
    String in = get("alice:" + SambaAd.ALICE_PASSWORD, "/index.html");
    assertTrue(in.startsWith("HTTP/1.1 200 "), in);
    assertTrue(get("alice:wrong", "/index.html").startsWith("HTTP/1.1 407 "));
    assertTrue(get("mallory:" + SambaAd.ALICE_PASSWORD, "/index.html").startsWith("HTTP/1.1 407 "));
    assertTrue(get("svc-proxy*:" + SambaAd.ALICE_PASSWORD, "/index.html").startsWith("HTTP/1.1 407 "));
    // alice is in Staff only through Finance: the DC's in-chain rule finds both in one search (nestedDepth 0).
    String alice = get("alice:" + SambaAd.ALICE_PASSWORD, "/staff.html");
    assertTrue(alice.startsWith("HTTP/1.1 403 ") && alice.contains("not-for-staff"), alice);
    assertTrue(get("bob:" + SambaAd.BOB_PASSWORD, "/staff.html").startsWith("HTTP/1.1 403 "));
    LocalConsole.Result t = LocalConsole.run(admin, dir.resolve("data"), null, "test", "url",
        "http://127.0.0.1:" + origin + "/staff.html", "user", "alice");
    assertEquals(0, t.code(), t.toString());
    assertTrue(t.out().matches("(?s).*groups: (Finance, Staff|Staff, Finance) \\(directory\\).*"), t.out());
    LocalConsole.Result shown = LocalConsole.run(admin, dir.resolve("data"), null, "show", "config", "proxy");
    assertTrue(!shown.out().contains(SambaAd.SERVICE_PASSWORD) && shown.out().contains("## SECRET-DATA"),
        shown.out());
  }

  @Test
  void withoutTheInChainRuleOnlyTheDirectGroupIsKnown() throws Exception {
    TestNodes.commit(daemon, base.replace("(member:1.2.840.113556.1.4.1941:={dn})", "(member={dn})"),
        "direct groups only");
    try {
      LocalConsole.Result t = LocalConsole.run(admin, dir.resolve("data"), null, "test", "url",
          "http://127.0.0.1:" + origin + "/staff.html", "user", "alice");
      assertTrue(t.out().contains("groups: Finance (directory)"), t.out());
      assertTrue(get("alice:" + SambaAd.ALICE_PASSWORD, "/staff.html").startsWith("HTTP/1.1 200 "));
    } finally {
      TestNodes.commit(daemon, base, "in-chain again");
    }
  }
}
