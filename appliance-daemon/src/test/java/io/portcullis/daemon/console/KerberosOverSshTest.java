package io.portcullis.daemon.console;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Kdc;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Ssh;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node set up for Kerberos single sign-on from the SSH console alone, as on the ISO (no shell, no scp): the keytab
 * and krb5.conf imported as Base64 lines by the real OpenSSH client, the settings committed, and curl
 * --proxy-negotiate with a ticket from a real MIT KDC gets through. Only the admin role imports, only plain names
 * beside the config, never over the config itself.
 */
class KerberosOverSshTest {
  static final String PASSWORD = "operator horse battery";
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Kdc kdc;
  static Ssh client;
  static Path key;
  static Path etc;
  static int admin;
  static int proxy;
  static int origin;

  @BeforeAll
  static void start() throws Exception {
    kdc = cleanup.add(Kdc.start(dir.resolve("kdc")), Kdc::stop);
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n"));
    key = Ssh.keygen(dir);
    int ssh = freePort();
    client = new Ssh(ssh);
    etc = Files.createDirectories(dir.resolve("etc"));
    String text = """
        node: { name: sso-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d }
          users:
            - { name: admin, role: admin, authorizedKeys: ["%s"] }
            - { name: oper, role: operator, passwordHash: "%s" }
        """.formatted(admin = freePort(), proxy = freePort(), freePort(), ssh, Ssh.publicKey(key),
        PasswordHash.make(PASSWORD.toCharArray()));
    cleanup.add(TestNodes.start(dir.resolve("data"), etc.resolve("portcullis.yaml"), text), Daemon::stop);
  }

  static Run asAdmin(String... command) throws Exception {
    List<String> a = client.withKey(key, "admin@127.0.0.1");
    a.addAll(List.of(command));
    return Ssh.run(dir, a);
  }

  static String b64(Path file) throws Exception {
    return Base64.getEncoder().encodeToString(Files.readAllBytes(file));
  }

  @Test
  void aKeytabImportedOverSshAndCommittedLetsATicketIn() throws Exception {
    ch.qos.logback.classic.Logger auditLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
        "portcullis.audit");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> audit =
        new ch.qos.logback.core.read.ListAppender<>();
    audit.start();
    auditLog.addAppender(audit);
    Run keytab;
    try {
      keytab = asAdmin("file import proxy.keytab " + b64(kdc.keytab()));
    } finally {
      auditLog.detachAppender(audit);
    }
    List<String> lines = audit.list.stream().map(e -> e.getFormattedMessage()).toList();
    String hash = sha256(kdc.keytab());
    String content = b64(kdc.keytab()).substring(0, 40);
    assertTrue(lines.stream().anyMatch(l -> l.contains("exec: file import proxy.keytab (")
        && l.contains("characters of content left out)")), lines.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("imported file proxy.keytab (") && l.contains("sha256 "
        + hash)), lines.toString());
    assertTrue(lines.stream().noneMatch(l -> l.contains(content)), "the keytab never reaches the audit: " + lines);
    assertEquals(0, keytab.exit(), keytab.output());
    assertTrue(keytab.output().contains("proxy.keytab: " + Files.size(kdc.keytab()) + " bytes, mode 0600"),
        keytab.output());
    assertArrayEquals(Files.readAllBytes(kdc.keytab()), Files.readAllBytes(etc.resolve("proxy.keytab")));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(etc.resolve("proxy.keytab"))));
    Run conf = asAdmin("file import krb5.conf " + b64(kdc.krb5Conf()));
    assertEquals(0, conf.exit(), conf.output());
    Run files = asAdmin("show files");
    assertTrue(files.output().contains("proxy.keytab") && files.output().contains("0600")
        && files.output().contains(sha256(kdc.keytab())), files.output());
    assertFalse(files.output().contains(b64(kdc.keytab())), "a file's content never shows");

    Path script = Files.writeString(dir.resolve("sso.txt"), """
        configure
        set proxy auth enabled true
        set proxy auth negotiate keytab proxy.keytab
        set proxy auth negotiate principal %s
        set proxy auth negotiate krb5Conf krb5.conf
        commit comment kerberos over ssh
        exit
        """.formatted(Kdc.SERVICE));
    Run commit = Ssh.script(script, client.withKey(key, "-T", "admin@127.0.0.1"));
    assertEquals(0, commit.exit(), commit.output());
    assertTrue(commit.output().contains("commit complete"), commit.output());

    // In use now: replaced only under a new name and a commit, which checks it and can be rolled back.
    Run again = asAdmin("file import proxy.keytab " + b64(kdc.keytab()));
    assertNotEquals(0, again.exit(), again.output());
    assertTrue(again.output().contains("in use (proxy.auth.negotiate.keytab)"), again.output());

    String[] alice = kdc.env(kdc.kinit("alice", "alicepw"));
    List<String> cmd = new ArrayList<>(List.of("env"));
    cmd.addAll(List.of(alice));
    cmd.addAll(List.of("curl", "-s", "-i", "--max-time", "30", "-x", "http://localhost:" + proxy,
        "--proxy-negotiate", "-U", ":", "http://127.0.0.1:" + origin + "/index.html"));
    String page = Host.runIn(dir, cmd.toArray(String[]::new)).output();
    assertTrue(page.contains("HTTP/1.1 200 ") && page.contains("hello"), page);
  }

  @Test
  void onlyTheAdminImportsAndOnlyPlainNamesBesideTheConfig() throws Exception {
    String yaml = Files.readString(etc.resolve("portcullis.yaml"));
    String content = Base64.getEncoder().encodeToString("x\n".getBytes());
    List<String> a = client.withPassword(PASSWORD, "oper@127.0.0.1", "file import ca.pem " + content);
    Run oper = Ssh.run(dir, a);
    assertNotEquals(0, oper.exit(), oper.output());
    assertTrue(oper.output().contains("for the admin role"), oper.output());
    assertFalse(Files.exists(etc.resolve("ca.pem")));
    for (String name : List.of("portcullis.yaml", ".hidden", "events.log", "..", "logback.xml", "seed.env")) {
      Run r = asAdmin("file import " + name + " " + content);
      assertNotEquals(0, r.exit(), name + ": " + r.output());
    }
    Run up = asAdmin("file import x/../../escaped " + content); // the console sends it URL-encoded, %2F and all
    assertNotEquals(0, up.exit(), up.output());
    assertTrue(up.output().contains("a file name is letters"), up.output());
    assertFalse(Files.exists(dir.resolve("escaped")));
    Run list = Ssh.run(dir, client.withPassword(PASSWORD, "oper@127.0.0.1", "show files"));
    assertEquals(0, list.exit(), list.output());
    assertTrue(list.output().contains("portcullis.yaml"), list.output());
    assertFalse(Files.exists(etc.resolve(".hidden")));
    assertEquals(yaml, Files.readString(etc.resolve("portcullis.yaml")), "the config is changed by commits only");
    Run notB64 = asAdmin("file import x.pem -----BEGIN"); // PEM text as it is, not Base64 of it
    assertNotEquals(0, notB64.exit(), notB64.output());
    assertTrue(notB64.output().contains("not Base64"), notB64.output());

    // Through the API (curl --data-binary): one byte over admin.maxFileSize is refused and nothing is written.
    String token = TestNodes.token(dir.resolve("data"));
    Path big = Files.write(dir.resolve("big.bin"), new byte[1024 * 1024 + 1]);
    Run r = Host.runIn(dir, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H",
        "Authorization: Bearer " + token, "--data-binary", "@" + big, "http://127.0.0.1:" + admin
            + "/api/v1/files/big.bin");
    assertEquals("400", r.output().strip());
    assertFalse(Files.exists(etc.resolve("big.bin")));
    Path small = Files.write(dir.resolve("list.txt"), "example.com\n".getBytes());
    r = Host.runIn(dir, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H",
        "Authorization: Bearer " + token, "--data-binary", "@" + small, "http://127.0.0.1:" + admin
            + "/api/v1/files/list.txt");
    assertEquals("200", r.output().strip());
    assertEquals("example.com\n", Files.readString(etc.resolve("list.txt")));
  }

  static String sha256(Path f) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(Files.readAllBytes(f)));
  }
}
