package io.portcullis.daemon.console;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Ssh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The console over SSH, driven by the real OpenSSH client (and sshpass for passwords). */
class SshConsoleTest {
  static final String PASSWORD = "correct horse battery";
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Daemon daemon;
  static int admin;
  static int proxy;
  static int ssh;
  static Ssh client;
  static Path key;
  static String base;

  @BeforeAll
  static void start() throws Exception {
    key = Ssh.keygen(dir);
    String pub = Ssh.publicKey(key);
    admin = freePort();
    proxy = freePort();
    ssh = freePort();
    client = new Ssh(ssh);
    base = """
        node: { name: ssh-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d, maxAuthAttempts: 3 }
          users:
            - name: admin
              role: admin
              passwordHash: "%s"
              authorizedKeys: ["%s"]
        """.formatted(admin, proxy, freePort(), ssh, PasswordHash.make(PASSWORD.toCharArray()), pub);
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), base), Daemon::stop);
  }

  static Run withKey(String... command) throws Exception {
    List<String> a = client.withKey(key, "admin@127.0.0.1");
    a.addAll(List.of(command));
    return Ssh.run(dir, a);
  }

  static Run withPassword(String password, String... command) throws Exception {
    List<String> a = client.withPassword(password, "-o", "NumberOfPasswordPrompts=5", "admin@127.0.0.1");
    a.addAll(List.of(command));
    return Ssh.run(dir, a);
  }

  /** {@code script} as the admin's console script (key login, no terminal); its exit code and output. */
  static Run script(String name, String script) throws Exception {
    Path file = Files.writeString(dir.resolve(name), script);
    return Ssh.script(file, client.withKey(key, "-T", "admin@127.0.0.1"));
  }

  @Test
  void execRunsOneConsoleCommandAndNeverASystemCommand() throws Exception {
    Run status = withKey("show status");
    assertEquals(0, status.exit(), status.output());
    assertTrue(status.output().contains("node ssh-node"), status.output());
    Run id = withKey("id");
    assertNotEquals(0, id.exit(), id.output());
    assertTrue(id.output().contains("unknown command id"), id.output());
    assertTrue(!id.output().contains("uid="), id.output());
    // Nothing reads the node's files for an SSH user: not load, not commit file, not passwd.
    Run load = withKey("load " + dir.resolve("data/admin.token"));
    assertNotEquals(0, load.exit(), load.output());
    assertTrue(load.output().contains("not available over SSH"), load.output());
    assertNotEquals(0, withKey("commit file /etc/passwd").exit());
    assertNotEquals(0, withKey("passwd admin").exit());
    String token = Files.readString(dir.resolve("data/admin.token")).strip();
    assertTrue(!withKey("show candidate").output().contains(token), "the token never shows");
    Run pw = withPassword(PASSWORD, "show status");
    assertEquals(0, pw.exit(), pw.output());
  }

  @Test
  void aScriptOverSshChangesARuleAndTheProxyBlocks() throws Exception {
    Run done = script("block.txt", """
        configure
        set rules access no-gambling when hosts "*.gambling.test"
        set rules access no-gambling action block
        commit comment over ssh
        exit
        """);
    assertEquals(0, done.exit(), done.output());
    assertTrue(done.output().contains("commit complete"), done.output());
    assertEquals("403", Curl.in(dir).proxy(proxy).status("http://www.gambling.test/"));
    assertTrue(daemon.commits().revisions().stream().anyMatch(r -> r.author().equals("admin")
        && r.message().equals("over ssh")), "the revision records the SSH user");
  }

  @Test
  void wrongPasswordsDisconnectAndNothingButTheConsoleIsServed() throws Exception {
    // ssh asks for the password up to 5 times (askpass answers wrong each time and counts); the daemon cuts it off
    // after maxAuthAttempts (3).
    Path asked = dir.resolve("asked.txt");
    Path askpass = dir.resolve("askpass.sh");
    Files.writeString(askpass, "#!/bin/sh\necho x >> " + asked + "\necho 'not the password'\n");
    askpass.toFile().setExecutable(true);
    List<String> a = client.args("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
        "-o", "NumberOfPasswordPrompts=5", "admin@127.0.0.1", "show status");
    ProcessBuilder pb = new ProcessBuilder(a).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(
        new java.io.File("/dev/null"))).redirectOutput(dir.resolve("wrong.out").toFile());
    pb.environment().put("SSH_ASKPASS", askpass.toString());
    pb.environment().put("SSH_ASKPASS_REQUIRE", "force");
    pb.environment().put("DISPLAY", ":0");
    Process wrong = pb.start();
    assertTrue(wrong.waitFor(60, TimeUnit.SECONDS));
    String said = Files.readString(dir.resolve("wrong.out"));
    assertEquals(255, wrong.exitValue(), "ssh's own failure, not a command's: " + said);
    assertEquals("Permission denied, please try again.\n".repeat(2) + "Received disconnect from 127.0.0.1 port N:14: "
        + "Too many authentication failures: 3\n", said.replace("\r", "").replaceFirst("port \\d+:", "port N:"));
    assertEquals(3, Files.readAllLines(asked).size(), "disconnected after maxAuthAttempts: " + said);
    // Remote forwarding refused at once; local forwarding refused when used. Each refusal as the client reports it.
    int remotePort = freePort();
    Run remote = withKey("-o", "ExitOnForwardFailure=yes", "-R", remotePort + ":127.0.0.1:" + admin,
        "show status");
    assertEquals(255, remote.exit(), remote.output());
    assertTrue(remote.output().contains("remote port forwarding failed for listen port " + remotePort),
        remote.output());
    int local = freePort();
    // -v: the client reports a refused channel at its INFO level, below the ERROR the other calls keep.
    List<String> fwd = client.withKey(key, "-v", "-N", "-L", local + ":127.0.0.1:" + admin, "admin@127.0.0.1");
    Process tunnel = new ProcessBuilder(fwd).redirectErrorStream(true).redirectOutput(dir.resolve("fwd.out")
        .toFile()).start();
    try {
      Peers.waitForPort(local, tunnel, dir.resolve("fwd.out"));
      assertEquals("000", Curl.in(dir).hideErrors().maxTime(10).status("http://127.0.0.1:" + local + "/health/live"),
          "the forwarded connection is refused: no answer at all");
      Host.waitUntil("the client to report the channel refused", () -> Peers.read(dir.resolve("fwd.out"))
          .contains("open failed: administratively prohibited"));
    } finally {
      tunnel.destroyForcibly();
    }
    Path file = dir.resolve("file.txt");
    Files.writeString(file, "x");
    Run sftp = Host.runIn(dir, "sftp", "-P", Integer.toString(ssh), "-o", "StrictHostKeyChecking=no", "-o",
        "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-i", key.toString(), "-b", "/dev/null",
        "admin@127.0.0.1");
    assertEquals(255, sftp.exit(), sftp.output());
    assertTrue(sftp.output().contains("subsystem request failed on channel 0"), sftp.output());
    Run scp = Host.runIn(dir, "scp", "-O", "-P", Integer.toString(ssh), "-o", "StrictHostKeyChecking=no", "-o",
        "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-i", key.toString(), file.toString(),
        "admin@127.0.0.1:/tmp/portcullis-scp-test");
    assertEquals(1, scp.exit(), scp.output());
    assertTrue(scp.output().contains("unknown command scp"), "the console, not scp, answered: " + scp.output());
    assertTrue(!Files.exists(Path.of("/tmp/portcullis-scp-test")));
  }

  @Test
  void keyOnlyModeRefusesPasswords() throws Exception {
    TestNodes.commit(daemon, base.replace("maxAuthAttempts: 3 }", "maxAuthAttempts: 3, passwordLogin: false }"),
        "key only");
    try {
      Run pw = withPassword(PASSWORD, "show status");
      // Not offered at all, as OpenSSH's PasswordAuthentication no: ssh lists the methods left and asks nothing.
      assertEquals(255, pw.exit(), "ssh itself gave up: " + pw.output());
      assertTrue(pw.output().contains("Permission denied (publickey)."), pw.output());
      assertEquals(0, withKey("show status").exit());
    } finally {
      TestNodes.commit(daemon, base, "passwords again");
    }
  }

  @Test
  void commitConfirmedRevertsAfterItsTimerEvenThoughTheSshSessionClosed() throws Exception {
    Run done = script("confirmed.txt", """
        configure
        set proxy maxHeaders 77
        commit confirmed 1 comment try it
        exit
        """);
    assertEquals(0, done.exit(), done.output());
    assertEquals(77, daemon.commits().active().config().proxy().maxHeaders());
    int tried = daemon.commits().active().revision();
    // The session is gone; the daemon's own timer puts the previous revision back after a minute.
    Host.waitUntil("the revert of the commit confirmed (1 minute)", java.time.Duration.ofSeconds(120),
        () -> daemon.commits().active().config().proxy().maxHeaders() != 77);
    assertTrue(daemon.commits().active().revision() > tried, "the revert is a revision of its own");
  }

  @Test
  void passwdSetsANewUsersPasswordLocallyAndItLogsInOverSsh() throws Exception {
    LocalConsole.Result passwd = LocalConsole.run(admin, dir.resolve("data"), "a long enough secret\n", "passwd",
        "operator");
    assertEquals(0, passwd.code(), passwd.out() + passwd.err());
    String hash = daemon.commits().active().config().console().users().stream()
        .filter(u -> u.name().equals("operator")).findFirst().orElseThrow().passwordHash();
    assertTrue(hash.startsWith("$pbkdf2-sha256$") && !daemon.commits().active().text().contains("long enough"));
    assertEquals(io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role.ADMIN, daemon.commits().active().config()
        .console().users().stream().filter(u -> u.name().equals("operator")).findFirst().orElseThrow().role(),
        "the first password set locally makes an administrator");
    Run r = Ssh.run(dir, client.withPassword("a long enough secret", "operator@127.0.0.1", "show status"));
    assertEquals(0, r.exit(), r.output());
  }
}
