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
 * group is known. Kerberos single sign-on with the DC's own tickets: a keytab exported for the proxy's SPN, and
 * curl --proxy-negotiate after kinit as alice gets in as alice with her nested group.
 */
class ProxyActiveDirectoryTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int origin;
  static int admin;
  static Curl curl;
  static String base;
  static SambaAd ad;
  static int proxy;

  @BeforeAll
  static void start() throws Exception {
    ad = cleanup.add(SambaAd.start(dir.resolve("ad")), SambaAd::stop);
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "staff.html", "for staff\n"));
    proxy = freePort();
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
            negotiate: { keytab: ad/http.keytab, principal: "%s", krb5Conf: ad/krb5.conf }
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
        """.formatted(admin = freePort(), freePort(), proxy, SambaAd.SERVICE, SambaAd.URL, SambaAd.SERVICE_DN,
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

  @Test
  void aDomainTicketLogsAliceInWithHerNestedGroup() throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("env"));
    cmd.addAll(java.util.List.of(ad.kinit("alice", SambaAd.ALICE_PASSWORD)));
    cmd.addAll(java.util.List.of("curl", "-s", "-i", "--max-time", "30", "-x", "http://localhost:" + proxy,
        "--proxy-negotiate", "-U", ":"));
    java.util.List<String> index = new java.util.ArrayList<>(cmd);
    index.add("http://127.0.0.1:" + origin + "/index.html");
    String page = io.portcullis.testsupport.Host.runIn(dir, index.toArray(String[]::new)).output();
    assertTrue(page.contains("HTTP/1.1 200 ") && page.contains("hello"), page);
    cmd.add("http://127.0.0.1:" + origin + "/staff.html");
    String staff = io.portcullis.testsupport.Host.runIn(dir, cmd.toArray(String[]::new)).output();
    assertTrue(staff.contains("HTTP/1.1 403 ") && staff.contains("not-for-staff"), staff);
    LocalConsole.Result users = LocalConsole.run(admin, dir.resolve("data"), null, "show", "users");
    assertTrue(users.out().matches("(?s).*\\balice +kerberos +(Finance, Staff|Staff, Finance)\\b.*"), users.out());
  }

  @Test
  void aKeytabWithoutTheTicketsKeyIsWarnedOfNotJustRefused() throws Exception {
    ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        "io.portcullis.daemon.proxy.impl.Authentication");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
        new ch.qos.logback.core.read.ListAppender<>();
    seen.start();
    log.addAppender(seen);
    TestNodes.commit(daemon, base.replace("keytab: ad/http.keytab", "keytab: ad/http-rc4.keytab"), "an RC4 keytab");
    try {
      java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("env"));
      cmd.addAll(java.util.List.of(ad.kinit("bob", SambaAd.BOB_PASSWORD)));
      cmd.addAll(java.util.List.of("curl", "-s", "-i", "--max-time", "30", "-x", "http://localhost:" + proxy,
          "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/index.html"));
      String page = io.portcullis.testsupport.Host.runIn(dir, cmd.toArray(String[]::new)).output();
      assertTrue(page.contains("HTTP/1.1 407 ") && !page.contains("HTTP/1.1 200 "), page);
      assertTrue(seen.list.stream().anyMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN
          && e.getFormattedMessage().contains("Kerberos tickets refused: the keytab has no key for the ticket")),
          seen.list.toString());
    } finally {
      log.detachAppender(seen);
      TestNodes.commit(daemon, base, "the AES keytab again");
    }
  }
}
