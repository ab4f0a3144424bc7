package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Ssh;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.codec.digest.Sha2Crypt;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.future.AuthFuture;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The console and the logs as the way in, against the daemon in its own JVM: SSH user names that would forge log
 * lines (sent by Apache MINA's SSH client, which sends any name), repeated wrong passwords from one address, roles
 * asked for more than they may do, and secrets asked for through every way the config is shown. Each case counts
 * what got through: a forged line, a login past the lockout, a change a role may not make, a secret shown.
 */
@Tag("reliability")
class HostileConsoleTest {
  static final String PASSWORD = "the right password";
  /** The secrets the config holds: none may appear in anything the node shows or logs. */
  static final List<String> SECRETS = new ArrayList<>();
  @TempDir static Path dir;
  static Process node;
  static int admin;
  static Ssh ssh;
  static Path key;

  @BeforeAll
  static void start() throws Exception {
    key = Ssh.keygen(dir);
    String pub = Ssh.publicKey(key);
    admin = Host.freePort();
    ssh = new Ssh(Host.freePort());
    String consoleHash = PasswordHash.make(PASSWORD.toCharArray());
    String proxyHash = Sha2Crypt.sha512Crypt("proxy-secret".getBytes(StandardCharsets.UTF_8), "$6$hostilesalt");
    SECRETS.addAll(List.of(consoleHash, proxyHash, consoleHash.substring(consoleHash.lastIndexOf('$') + 1),
        proxyHash.substring(proxyHash.lastIndexOf('$') + 1)));
    node = Peers.portcullis(dir, """
        node: { name: hostile-console, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy:
          listen: 127.0.0.1:%d
          auth: { enabled: true, users: [ { name: alice, password: '%s' } ] }
        icap: { listen: 127.0.0.1:%d }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d, lockout: { maxFailures: 3 } }
          users:
            - { name: viewer, authorizedKeys: ["%s"] }
            - { name: ops, role: operator, authorizedKeys: ["%s"] }
            - { name: boss, role: admin, authorizedKeys: ["%s"], passwordHash: "%s" }
        """.formatted(admin, Host.freePort(), proxyHash, Host.freePort(), ssh.port(), pub, pub, pub, consoleHash),
        ssh.port());
  }

  @AfterAll
  static void stop() throws Exception {
    Peers.stop(node);
  }

  /** The daemon's log (its standard output: the daemon log and the audit log) as written so far. */
  static String log() throws Exception {
    return Peers.read(dir.resolve("daemon.log"));
  }

  static Run script(String user, String script) throws Exception {
    Path file = Files.writeString(dir.resolve(user + "-script.txt"), script);
    return Ssh.script(file, ssh.withKey(key, "-T", user + "@127.0.0.1"));
  }

  @Test
  void sshUserNamesCannotForgeLogLines() throws Exception {
    List<String> names = List.of("x\nFORGED-lf INFO  [main] Audit - user=root login", "x\rFORGED-cr",
        "x\r\nFORGED-crlf", "x\u001b[2K\rFORGED-esc", "x\u0085FORGED-nel", "x\u2028FORGED-ls", "x\u0000FORGED-nul",
        "x\tFORGED-tab", "x\\nFORGED-backslash");
    int attempts = 0;
    try (SshClient client = SshClient.setUpDefaultClient()) {
      client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
      client.start();
      for (String name : names) {
        // From 127.0.0.4, so that its lockout (after 3) is its own: the later names are refused as locked out.
        try (ClientSession s = client.connect(name, new InetSocketAddress("127.0.0.1", ssh.port()),
            new InetSocketAddress("127.0.0.4", 0)).verify(30, TimeUnit.SECONDS).getSession()) {
          s.addPasswordIdentity("wrong");
          AuthFuture auth = s.auth();
          auth.await(60, TimeUnit.SECONDS);
          assertTrue(auth.isDone() && !auth.isSuccess(), "a wrong password is refused: " + name);
        }
        attempts++;
      }
    }
    // Each attempt is audited (refused, or refused as locked out) with its source: wait for all of them.
    int tried = attempts;
    Host.waitUntil("an audit line per attempt", () -> log().split("source=127\\.0\\.0\\.4", -1).length - 1 >= tried);
    int forged = 0;
    int shown = 0;
    String log = log();
    for (String line : log.split("\n", -1)) {
      if (line.contains("FORGED") && !line.matches("^\\d{4}-\\d\\d-\\d\\dT\\S+ +[A-Z]+ +\\[.*")) {
        forged++; // a line that begins with what the name carried, not with the logger's own head
      }
    }
    for (String name : names) {
      shown += log.contains(io.portcullis.daemon.logging.Logs.escape(name)) ? 1 : 0;
    }
    Report.row("security", "SSH user names with CR, LF, ESC, NEL, LS, NUL: no forged log line", tried, shown, 0, 0,
        forged, -1, -1, "audit lines show each name escaped");
    assertEquals(0, forged, log);
    assertEquals(names.size(), shown, "each name is in the log, escaped: " + log);
  }

  @Test
  void repeatedWrongPasswordsLockTheirAddressOutOnly() throws Exception {
    int tried = 0;
    int passed = 0;
    for (int i = 0; i < 3; i++) {
      Run wrong = Ssh.run(dir, ssh.withPassword("wrong-" + i, "-b", "127.0.0.2", "-o", "NumberOfPasswordPrompts=1",
          "boss@127.0.0.1", "show status"));
      tried++;
      passed += wrong.exit() != 0 && !wrong.output().contains("node hostile-console") ? 1 : 0;
    }
    Run locked = Ssh.run(dir, ssh.withPassword(PASSWORD, "-b", "127.0.0.2", "-o", "NumberOfPasswordPrompts=1",
        "boss@127.0.0.1", "show status"));
    Run lockedKey = Ssh.run(dir, ssh.withKey(key, "-b", "127.0.0.2", "boss@127.0.0.1", "show status"));
    Run other = Ssh.run(dir, ssh.withPassword(PASSWORD, "-b", "127.0.0.3", "-o", "NumberOfPasswordPrompts=1",
        "boss@127.0.0.1", "show status"));
    tried += 3;
    int through = (locked.output().contains("node hostile-console") ? 1 : 0)
        + (lockedKey.output().contains("node hostile-console") ? 1 : 0);
    passed += locked.exit() != 0 && lockedKey.exit() != 0 ? 2 : 0;
    passed += other.exit() == 0 && other.output().contains("node hostile-console") ? 1 : 0;
    Report.row("security", "SSH: 3 wrong passwords lock the address out (right password and key too); others not",
        tried, passed, 0, 0, through, -1, -1, "");
    assertEquals(0, through, locked.output() + lockedKey.output());
    assertEquals(tried, passed, locked.output() + "\n" + lockedKey.output() + "\n" + other.output());
    assertTrue(log().contains("source=127.0.0.2") && log().contains("locked out"), log());
  }

  @Test
  void rolesGetNoMoreThanTheyMayDo() throws Exception {
    String hash = PasswordHash.make("x".repeat(12).toCharArray());
    List<String[]> attempts = List.of(
        new String[] {"viewer", "configure\nset proxy maxHeaders 61\ncommit\nexit\n"},
        new String[] {"viewer", "rollback 1\ncommit\n"},
        new String[] {"viewer", "passwd boss\n" + "y".repeat(12) + "\n"},
        new String[] {"viewer", "configure\nload merge terminal\nproxy: { maxHeaders: 62 }\n\ncommit\nexit\n"},
        new String[] {"ops", "configure\nset console users eve passwordHash " + hash + "\nset console users eve role "
            + "admin\ncommit\nexit\n"},
        new String[] {"ops", "configure\nset console users ops role admin\ncommit\nexit\n"},
        new String[] {"ops", "configure\nset console ssh passwordLogin false\ncommit\nexit\n"},
        new String[] {"ops", "passwd boss\n" + "y".repeat(12) + "\n"},
        new String[] {"ops", "configure\ndelete console users boss\ncommit\nexit\n"});
    String token = TestNodes.token(dir.resolve("data"));
    String before = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/config", token, null).body();
    int revision = revision(token);
    int tried = 0;
    int passed = 0;
    List<String> wrong = new ArrayList<>();
    for (String[] a : attempts) {
      tried++;
      Run r = script(a[0], a[1]);
      boolean refused = r.exit() != 0 && revision(token) == revision;
      if (refused) {
        passed++;
      } else {
        wrong.add(a[0] + ": " + a[1].replace('\n', ';') + " -> exit " + r.exit() + ": " + r.output());
      }
    }
    String after = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/config", token, null).body();
    Report.row("security", "console roles: read-only and operator asking for more (commit, rollback, passwd, users)",
        tried, passed, 0, 0, tried - passed, -1, -1, "");
    assertEquals(List.of(), wrong);
    assertEquals(before, after);
  }

  static int revision(String token) throws Exception {
    return TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/status", token, null).json()
        .getInteger("revision");
  }

  @Test
  void secretsAreShownAsPlaceholdersEverywhere() throws Exception {
    String token = TestNodes.token(dir.resolve("data"));
    String api = "http://127.0.0.1:" + admin + "/api/v1/";
    // A commit that adds one secret and changes another, so that revisions and compare have them on both sides.
    String newConsole = PasswordHash.make("another password".toCharArray());
    String newProxy = Sha2Crypt.sha512Crypt("proxy-secret-2".getBytes(StandardCharsets.UTF_8), "$6$othersalt");
    SECRETS.addAll(List.of(newConsole, newProxy));
    // A new user's, not boss's: the other cases log in as boss with PASSWORD.
    Run commit = script("boss", "configure\nset console users eve passwordHash " + newConsole
        + "\nset proxy auth users alice password " + newProxy + "\ncompare\ncommit\nexit\n");
    assertEquals(0, commit.exit(), commit.output());
    int active = revision(token);
    List<String> shown = new ArrayList<>();
    shown.add("ssh configure+compare: " + commit.output());
    for (String cmd : List.of("show config", "show config console", "show config | display set", "show candidate",
        "show revision " + active, "show revision " + (active - 1), "compare " + (active - 1), "show events 100")) {
      Run r = Ssh.run(dir, ssh.withKey(key, "boss@127.0.0.1", cmd));
      shown.add("ssh " + cmd + ": exit " + r.exit() + ": " + r.output());
    }
    for (String path : List.of("config", "candidate", "revisions", "revisions/" + active, "revisions/" + (active - 1),
        "status", "events?limit=100", "compare?revision=" + (active - 1))) {
      shown.add("api " + path + ": " + TestNodes.call("GET", api + path, token, null).body());
    }
    shown.add("daemon log: " + log());
    int tried = 0;
    int leaked = 0;
    int placeholders = 0;
    List<String> leaks = new ArrayList<>();
    for (String s : shown) {
      tried++;
      placeholders += s.contains("## SECRET-DATA") ? 1 : 0;
      for (String secret : SECRETS) {
        if (s.contains(secret)) {
          leaked++;
          leaks.add(s.substring(0, Math.min(80, s.length())) + "... holds " + secret);
        }
      }
    }
    Report.row("security", "secrets (password hashes) in show, compare, revisions, API, events, logs", tried,
        tried - leaks.size(), 0, 0, leaked, -1, -1, placeholders + " showed the placeholder");
    assertEquals(List.of(), leaks);
    assertTrue(placeholders >= 8, "the config, candidate, revisions and compare show the placeholder: " + shown);
  }
}
