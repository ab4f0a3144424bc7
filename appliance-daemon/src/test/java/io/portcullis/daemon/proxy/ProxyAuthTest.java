package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static io.portcullis.testsupport.Host.runIn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Basic proxy authentication with hashes made by openssl (config users and an htpasswd file), the user name reaching
 * the rules through ICAP, and the access log in Squid's format, read by the real SARG.
 */
class ProxyAuthTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Curl curl;
  static int origin;
  static int proxy;
  static int admin;
  static Path accessLog;

  static String openssl(String... args) throws Exception {
    String[] cmd = new String[args.length + 1];
    cmd[0] = "openssl";
    System.arraycopy(args, 0, cmd, 1, args.length);
    Run r = runIn(dir, cmd);
    assertEquals(0, r.exit(), r.output());
    return r.output().strip();
  }

  @BeforeAll
  static void start() throws Exception {
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n", "secret.html", "secret\n"));
    String aliceHash = openssl("passwd", "-6", "alice-pw");
    Files.writeString(dir.resolve("htpasswd"), "# made by openssl, as htpasswd -m would\nbob:"
        + openssl("passwd", "-apr1", "bob pw:with colon") + "\n");
    proxy = freePort();
    curl = Curl.in(dir).hideErrors().maxTime(20).proxy(proxy).with("-i");
    accessLog = dir.resolve("logs/access.log");
    String text = """
        admin: { listen: "127.0.0.1:%d" }
        icap: { listen: "127.0.0.1:%d" }
        proxy:
          listen: "127.0.0.1:%d"
          deniedDestinations: []
          connectPorts: [443, 8443]
          accessLog: logs/access.log
          auth:
            enabled: true
            realm: Test "realm"
            htpasswd: htpasswd
            users:
              - { name: alice, password: '%s', groups: [staff] }
              - { name: carol, password: '%s' }
        rules:
          access:
            - { name: no-secrets-for-bob, when: { users: [bob], urls: ["http://127.0.0.1:*/secret*"] }, action: block }
            - { name: staff-only, when: { urls: ["http://127.0.0.1:*/staff*"], unless: [ { groups: [staff] } ] }, action: block }
            - { name: no-tunnels-for-bob, when: { users: [bob], methods: [CONNECT] }, action: block }
        """.formatted(admin = freePort(), freePort(), proxy, aliceHash, openssl("passwd", "-6", "carol-pw"));
    cleanup.add(TestNodes.start(dir.resolve("data"), dir.resolve("portcullis.yaml"), text), Daemon::stop);
  }

  /** curl through the proxy; returns "status\nheaders+body". */
  static String curl(String user, String url, String... extra) throws Exception {
    List<String> args = new java.util.ArrayList<>();
    if (user != null) {
      args.addAll(List.of("--proxy-user", user));
    }
    args.addAll(List.of(extra));
    args.add(url);
    return curl.run(args.toArray(String[]::new)).output();
  }

  @Test
  void distinctWrongPasswordsFromOneAddressLockItOutWhileOthersAreServed() throws Exception {
    String url = "http://127.0.0.1:" + origin + "/index.html";
    String[] from = {"--interface", "127.0.0.9"};
    // One wrong password sent again and again (a browser asks for each resource of a page) is one failure.
    for (int i = 0; i < 10; i++) {
      assertTrue(curl("alice:the same typo", url, from).startsWith("HTTP/1.1 407 "));
    }
    for (int i = 1; i <= 3; i++) {
      assertTrue(curl("alice:typo " + i, url, from).startsWith("HTTP/1.1 407 "));
    }
    assertTrue(curl("alice:alice-pw", url, from).startsWith("HTTP/1.1 200 "), "4 failures, under the 5 allowed");
    // A success does not clear them (else a guesser's own account would reset his count): one more locks it out.
    assertTrue(curl("mallory:guess", url, from).startsWith("HTTP/1.1 407 "));
    String locked = curl("carol:carol-pw", url, from);
    assertTrue(locked.startsWith("HTTP/1.1 429 "), locked);
    assertTrue(locked.contains("Retry-After: "), locked);
    // A password already proven right goes on working there (a user behind the same NAT as the guesser).
    assertTrue(curl("alice:alice-pw", url, from).startsWith("HTTP/1.1 200 "));
    assertTrue(curl("carol:carol-pw", url, "--interface", "127.0.0.10").startsWith("HTTP/1.1 200 "),
        "another address is served");
    String metrics = Curl.in(dir).run("-H", "Authorization: Bearer " + TestNodes.token(dir.resolve("data")),
        "http://127.0.0.1:" + admin + "/metrics").output();
    assertTrue(metrics.contains("portcullis_proxy_auth_lockouts_total 1.0"), metrics);
  }

  @Test
  void withoutValidCredentialsTheProxyAnswers407WithTheBasicChallenge() throws Exception {
    String none = curl(null, "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(none.startsWith("HTTP/1.1 407 "), none);
    assertTrue(none.contains("Proxy-Authenticate: Basic realm=\"Test \\\"realm\\\"\", charset=\"UTF-8\""), none);
    String wrong = curl("alice:wrong", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(wrong.startsWith("HTTP/1.1 407 "), wrong);
    assertTrue(wrong.contains("not right"), wrong);
    String unknown = curl("mallory:alice-pw", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(unknown.startsWith("HTTP/1.1 407 "), unknown);
  }

  @Test
  void configUsersAndHtpasswdUsersAreServedAndTheRulesSeeTheirNamesAndGroups() throws Exception {
    String alice = curl("alice:alice-pw", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(alice.startsWith("HTTP/1.1 200 ") && alice.endsWith("hello\n"), alice);
    // twice: the second answer comes from the remembered check
    assertTrue(curl("alice:alice-pw", "http://127.0.0.1:" + origin + "/secret.html").startsWith("HTTP/1.1 200 "));
    String bob = curl("bob:bob pw:with colon", "http://127.0.0.1:" + origin + "/index.html");
    assertTrue(bob.startsWith("HTTP/1.1 200 "), bob);
    String bobSecret = curl("bob:bob pw:with colon", "http://127.0.0.1:" + origin + "/secret.html");
    assertTrue(bobSecret.startsWith("HTTP/1.1 403 ") && bobSecret.contains("no-secrets-for-bob"), bobSecret);
    // groups reach the rules too: alice is staff, bob is not
    assertTrue(curl("alice:alice-pw", "http://127.0.0.1:" + origin + "/staff.html").startsWith("HTTP/1.1 404 "));
    assertTrue(curl("bob:bob pw:with colon", "http://127.0.0.1:" + origin + "/staff.html")
        .startsWith("HTTP/1.1 403 "));
    // CONNECT goes through the rules as well (REQMOD), before any tunnel is opened
    String tunnel = curl("bob:bob pw:with colon", "https://127.0.0.1:8443/", "-p");
    assertTrue(tunnel.startsWith("HTTP/1.1 403 "), tunnel);
  }

  @Test
  void theAccessLogIsInSquidsFormatAndSargReportsIt() throws Exception {
    curl("alice:alice-pw", "http://127.0.0.1:" + origin + "/index.html?log=1");
    curl(null, "http://127.0.0.1:" + origin + "/index.html?log=2");
    String log = "";
    for (int i = 0; i < 100 && !(log.contains("log=1") && log.contains("log=2")); i++) {
      Thread.sleep(50); // the log is written in batches off the traffic threads
      log = Files.exists(accessLog) ? Files.readString(accessLog) : "";
    }
    Pattern served = Pattern.compile("(?m)^\\d{10}\\.\\d{3} +\\d+ 127\\.0\\.0\\.1 TCP_MISS/200 6 GET "
        + "http://127\\.0\\.0\\.1:" + origin + "/index\\.html\\?log=1 alice HIER_DIRECT/127\\.0\\.0\\.1 text/html$");
    assertTrue(served.matcher(log).find(), log);
    Pattern denied = Pattern.compile("(?m)^\\d{10}\\.\\d{3} +\\d+ 127\\.0\\.0\\.1 TCP_DENIED/407 \\d+ GET "
        + "http://127\\.0\\.0\\.1:" + origin + "/index\\.html\\?log=2 - HIER_NONE/- text/html$");
    assertTrue(denied.matcher(log).find(), log);
    Peers.require("sarg", "sarg");
    Path out = dir.resolve("sarg");
    Path tmp = dir.resolve("sarg-tmp");
    Files.createDirectories(out);
    Files.createDirectories(tmp);
    Path conf = dir.resolve("sarg.conf");
    Files.writeString(conf, "access_log " + accessLog + "\noutput_dir " + out + "\ntemporary_dir " + tmp
        + "\nresolve_ip no\noverwrite_report yes\ndate_format e\n");
    Run r = runIn(dir, "sarg", "-f", conf.toString());
    assertEquals(0, r.exit(), r.output());
    try (var files = Files.walk(out)) {
      String reports = files.filter(Files::isRegularFile).map(p -> {
        try {
          return Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (java.io.IOException e) {
          return "";
        }
      }).reduce("", String::concat);
      assertTrue(reports.contains("alice"), "SARG's report names the user");
      assertTrue(reports.contains("127.0.0.1"), "SARG's report names the site");
    }
  }

  @Test
  void plainTextPasswordsAreRefusedByValidation() {
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> ConfigLoader.parse(
        "proxy: { auth: { enabled: true, users: [ { name: eve, password: hunter2 } ] } }\n"));
    assertTrue(e.getMessage().contains("proxy.auth.users[0].password"), e.getMessage());
  }
}
