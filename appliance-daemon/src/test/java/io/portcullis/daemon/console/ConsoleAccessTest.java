package io.portcullis.daemon.console;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Ssh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Console roles and the login lockout, through the real OpenSSH client: read-only shows, operator configures but
 * cannot touch users, admin can; repeated wrong passwords lock the address out, the right one included.
 */
class ConsoleAccessTest {
  static final String PASSWORD = "the right password";
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static ListAppender<ILoggingEvent> audit;
  static Daemon daemon;
  static int admin;
  static Ssh ssh;
  static Path key;

  @BeforeAll
  static void start() throws Exception {
    key = Ssh.keygen(dir); // (Ssh requires ssh, and sshpass for the password logins)
    String pub = Ssh.publicKey(key);
    admin = freePort();
    ssh = new Ssh(freePort());
    String text = """
        node: { name: access-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d, maxAuthAttempts: 3, lockout: { maxFailures: 3 } }
          users:
            - { name: viewer, authorizedKeys: ["%s"] }
            - { name: ops, role: operator, authorizedKeys: ["%s"] }
            - { name: boss, role: admin, authorizedKeys: ["%s"], passwordHash: "%s" }
        """.formatted(admin, freePort(), freePort(), ssh.port(), pub, pub, pub,
        PasswordHash.make(PASSWORD.toCharArray()));
    Logger auditLog = (Logger) LoggerFactory.getLogger("portcullis.audit");
    audit = cleanup.add(new ListAppender<ILoggingEvent>(), auditLog::detachAppender);
    audit.start();
    auditLog.addAppender(audit);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  /** {@code script} as a console script of {@code user} (key login); its exit code and output. */
  static Run script(String user, String script) throws Exception {
    Path file = Files.writeString(dir.resolve(user + ".txt"), script);
    return Ssh.script(file, ssh.withKey(key, "-T", user + "@127.0.0.1"));
  }

  static int maxHeaders() {
    return daemon.commits().active().config().proxy().maxHeaders();
  }

  @Test
  void readOnlyShowsButCannotConfigure() throws Exception {
    Run show = script("viewer", "show status\n");
    assertEquals(0, show.exit(), show.output());
    assertTrue(show.output().contains("node access-node"), show.output());
    int before = maxHeaders();
    Run set = script("viewer", "configure\nset proxy maxHeaders 61\ncommit\nexit\n");
    assertNotEquals(0, set.exit(), set.output());
    assertTrue(set.output().contains("the read-only role may only show"), set.output());
    assertEquals(before, maxHeaders());
  }

  @Test
  void operatorCommitsButNotUsersAdminDoesBoth() throws Exception {
    Run ok = script("ops", "configure\nset proxy maxHeaders 62\ncommit\nexit\n");
    assertEquals(0, ok.exit(), ok.output());
    assertEquals(62, maxHeaders());
    String hash = PasswordHash.make("x".repeat(12).toCharArray());
    Run users = script("ops", "configure\nset console users eve passwordHash " + hash + "\nset console users eve "
        + "role admin\ncommit\nexit\n");
    assertNotEquals(0, users.exit(), users.output());
    assertTrue(users.output().contains("console (users, roles, SSH settings) is for the admin role"), users.output());
    assertTrue(daemon.commits().active().config().console().users().stream().noneMatch(u -> u.name().equals("eve")));
    Run boss = script("boss", "configure\nset console users eve passwordHash " + hash + "\ncommit\nexit\n");
    assertEquals(0, boss.exit(), boss.output());
    assertTrue(daemon.commits().active().config().console().users().stream().anyMatch(u -> u.name().equals("eve")));
    assertTrue(audit.list.stream().map(ILoggingEvent::getFormattedMessage)
        .anyMatch(l -> l.startsWith("user=ops ")
            && l.contains("commit refused: console (users, roles, SSH settings) is for the admin role")),
        audit.list.toString());
  }

  /** curl to the admin API with {@code token}, the path sent as written; the HTTP status. */
  static String status(String token, String method, String path) throws Exception {
    return Curl.in(dir).hideErrors().with("--path-as-is", "-X", method, "-H", "Authorization: Bearer " + token)
        .status("http://127.0.0.1:" + admin + path);
  }

  @Test
  void aSessionsTokenHasItsUsersRoleNowHoweverThePathIsSpelled() throws Exception {
    String ops = daemon.callers().open("ops", io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.OPERATOR,
        "test");
    for (String path : List.of("/api/v1/cluster/join-key?node=n1", "/api/v1/cluster/%6Aoin-key?node=n1",
        "/api/v1/cluster/./join-key?node=n1", "/api/v1/x/../cluster/join-key?node=n1")) {
      assertEquals("403", status(ops, "GET", path), path);
    }
    assertEquals("200", status(ops, "GET", "/api/v1/status"));
    String ca = daemon.inspectionCa().fingerprint();
    for (String path : List.of("/api/v1/tls/ca/rotate", "/api/v1/tls/./ca/rotate", "/api/v1/x/../tls/ca/rotate")) {
      assertEquals("403", status(ops, "POST", path), path);
    }
    assertEquals(ca, daemon.inspectionCa().fingerprint(), "no new CA for the operator");
    // A user demoted by a commit loses the rights of the open session at once; one removed, the session itself.
    String before = daemon.commits().active().text();
    String temp = daemon.callers().open("temp", io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.ADMIN,
        "test");
    TestNodes.commit(daemon, before.replace("    - { name: viewer,",
        "    - { name: temp, role: admin }\n    - { name: viewer,"), "temp");
    assertEquals("200", status(temp, "POST", "/api/v1/sessions"));
    TestNodes.commit(daemon, before.replace("    - { name: viewer,",
        "    - { name: temp, role: read-only }\n    - { name: viewer,"), "demote");
    assertEquals("403", status(temp, "POST", "/api/v1/sessions"));
    TestNodes.commit(daemon, before, "remove");
    assertEquals("401", status(temp, "GET", "/api/v1/status"));
    daemon.callers().close(ops);
    assertEquals("401", status(ops, "GET", "/api/v1/status"), "a closed session's token");
  }

  @Test
  void aConfigurationSessionIsItsOpenersOnly() throws Exception {
    var operator = io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.OPERATOR;
    String ops = daemon.callers().open("ops", operator, "test");
    String boss = daemon.callers().open("boss", io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.ADMIN,
        "test");
    String id = TestNodes.call("POST", "http://127.0.0.1:" + admin + "/api/v1/sessions", ops, null).json()
        .getString("session");
    assertEquals("200", status(ops, "GET", "/api/v1/sessions/" + id));
    for (String[] call : new String[][] {{"GET", ""}, {"GET", "/compare"}, {"POST", "/commit"},
        {"DELETE", ""}}) {
      assertEquals("404", status(boss, call[0], "/api/v1/sessions/" + id + call[1]), String.join(" ", call));
    }
    assertEquals("200", status(TestNodes.token(dir.resolve("data")), "GET", "/api/v1/sessions/" + id),
        "the local console (the node's token) may");
    assertEquals("200", status(ops, "DELETE", "/api/v1/sessions/" + id));
    daemon.callers().close(ops);
    daemon.callers().close(boss);
  }

  @Test
  void repeatedWrongPasswordsLockTheAddressOutRightPasswordAndKeyIncluded() throws Exception {
    // From 127.0.0.2, so that the other tests' logins from 127.0.0.1 are not locked out.
    for (int i = 0; i < 3; i++) {
      Run wrong = Ssh.run(dir, withPassword("wrong " + i, "show status"));
      assertEquals(255, wrong.exit(), wrong.output());
      assertTrue(wrong.output().contains("boss@127.0.0.1: Permission denied ("), wrong.output());
    }
    Run right = Ssh.run(dir, withPassword(PASSWORD, "show status"));
    assertEquals(255, right.exit(), "locked out: " + right.output());
    assertTrue(right.output().contains("boss@127.0.0.1: Permission denied ("), "locked out: " + right.output());
    List<String> keyed = ssh.withKey(key, "-b", "127.0.0.2", "boss@127.0.0.1", "show status");
    Run banned = Ssh.run(dir, keyed);
    assertEquals(255, banned.exit(), "keys too, as fail2ban's ban: " + banned.output());
    assertTrue(banned.output().contains("boss@127.0.0.1: Permission denied ("), banned.output());
    List<String> lines = audit.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    assertTrue(lines.contains("source=127.0.0.2 locked out of the SSH console for PT10M after 3 failed logins"),
        lines.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("user=boss source=127.0.0.2 ssh login refused: the address "
        + "is locked out")), lines.toString());
    // Elsewhere the same password works.
    Run fine = Ssh.run(dir, ssh.withPassword(PASSWORD, "boss@127.0.0.1", "show status"));
    assertEquals(0, fine.exit(), fine.output());
    String metrics = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics", TestNodes.token(dir.resolve("data")),
        null).body();
    assertTrue(metrics.contains("portcullis_console_lockouts_total 1.0"), metrics);
    assertFalse(metrics.contains("portcullis_console_lockouts_total 2.0"));
  }

  static List<String> withPassword(String password, String command) {
    return ssh.withPassword(password, "-b", "127.0.0.2", "-o", "NumberOfPasswordPrompts=1", "boss@127.0.0.1",
        command);
  }
}
