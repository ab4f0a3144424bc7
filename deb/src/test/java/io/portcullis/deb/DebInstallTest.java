package io.portcullis.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Installed;
import io.portcullis.testsupport.Ssh;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The DEB on this machine (as root, as CI runs): dpkg -i creates the user and places the files with their owners and
 * modes and the jars of this build; the installed launcher, run as the service user, serves health and proxies a
 * request; an edited conffile survives remove and reinstall; purge leaves nothing behind.
 */
class DebInstallTest {
  static Path deb;

  @BeforeAll
  static void find() throws Exception {
    deb = Installed.builtPackage("_all.deb", "/usr/bin/dpkg", "needs dpkg (Debian)");
  }

  @org.junit.jupiter.api.BeforeEach
  void purgeLeftovers() throws Exception {
    Host.run("dpkg", "--purge", "portcullis"); // of an interrupted run or an earlier test
  }

  @AfterAll
  static void purge() throws Exception {
    if (deb != null) {
      Host.run("dpkg", "--purge", "portcullis");
    }
  }

  static PosixFileAttributes attrs(String path) throws IOException {
    return Files.readAttributes(Path.of(path), PosixFileAttributes.class);
  }

  static boolean listening(int port) {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Fleet install: the answers given to dpkg as PORTCULLIS_* variables reach the daemon's first start (kept in
   * seed.env, 0600, for the service), which makes the admin (password hash and SSH key, SSH console on), names the
   * node and sets its role (icap: the ICAP server only); the real OpenSSH client logs in both ways; a restart does
   * not apply the answers again over a later change.
   */
  @Test
  void unattendedInstallSetsTheAdminTheNameAndTheRole() throws Exception {
    Path dir = Files.createTempDirectory("deb-seed");
    Run gen = Host.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet@test", "-f",
        dir.resolve("key").toString());
    assertEquals(0, gen.exit(), gen.output());
    String pub = Files.readString(dir.resolve("key.pub")).strip();
    String hash = io.portcullis.console.PasswordHash.make("fleet-secret-1".toCharArray());
    ProcessBuilder dpkg = new ProcessBuilder("dpkg", "-i", deb.toString()).redirectErrorStream(true);
    dpkg.environment().put("PORTCULLIS_ADMIN_PASSWORD_HASH", hash);
    dpkg.environment().put("PORTCULLIS_ADMIN_SSH_KEY", pub);
    dpkg.environment().put("PORTCULLIS_NODE_NAME", "fleet-7");
    dpkg.environment().put("PORTCULLIS_ROLE", "icap");
    Process p = dpkg.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    Path seed = Path.of("/etc/portcullis/seed.env");
    assertEquals("rw-------", PosixFilePermissions.toString(attrs(seed.toString()).permissions()));
    assertEquals("portcullis", attrs(seed.toString()).owner().getName());

    int admin = Host.freePort();
    int proxy = Host.freePort();
    int icap = Host.freePort();
    int ssh = Host.freePort();
    Path conf = Path.of("/etc/portcullis/portcullis.yaml");
    Files.writeString(conf, """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        console: { ssh: { listen: 127.0.0.1:%d } }
        """.formatted(admin, proxy, icap, ssh));
    Run check = Host.run("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd", "--check");
    assertEquals(0, check.exit(), check.output());
    assertFalse(Files.exists(Path.of("/var/lib/portcullis/seed.applied")), "--check applies nothing");

    Process daemon = Installed.start(admin, "target/seeded-daemon.log");
    try {
      String yaml = Files.readString(conf);
      assertTrue(yaml.contains(hash) && yaml.contains(pub.split(" ")[1]) && yaml.contains("fleet-7"), yaml);
      assertTrue(listening(icap), "role icap: the ICAP server runs");
      assertFalse(listening(proxy), "role icap: no proxy");
      Ssh console = new Ssh(ssh);
      Run byKey = Ssh.run(dir, console.withKey(dir.resolve("key"), "admin@127.0.0.1", "show status"));
      assertEquals(0, byKey.exit(), byKey.output());
      assertTrue(byKey.output().contains("fleet-7"), byKey.output());
      Run byPassword = Ssh.run(dir, console.withPassword("fleet-secret-1", "admin@127.0.0.1", "show status"));
      assertEquals(0, byPassword.exit(), byPassword.output());
    } finally {
      Installed.stop(daemon);
    }
    // The admin renames the node; a restart keeps the admin's name (the answers were applied once).
    Files.writeString(conf, Files.readString(conf).replace("fleet-7", "renamed-by-admin"));
    daemon = Installed.start(admin, "target/seeded-daemon-2.log");
    Installed.stop(daemon);
    assertTrue(Files.readString(conf).contains("renamed-by-admin"), Files.readString(conf));
    assertEquals(0, Host.run("dpkg", "--purge", "portcullis").exit());
  }

  /** Debian's package checker finds no error and no warning (overrides, each with its reason, in the package). */
  @Test
  void lintianFindsNoErrorOrWarning() throws Exception {
    assertTrue(new File("/usr/bin/lintian").canExecute(), "lintian is not installed: apt-get install lintian (or run "
        + ".ci/run as root, which installs every package in .ci/packages.txt)");
    Run lint = Host.run("lintian", "--tag-display-limit", "0", "--fail-on", "error,warning", deb.toString());
    assertEquals(0, lint.exit(), lint.output());
    assertFalse(lint.output().contains("W: ") || lint.output().contains("E: "), lint.output());
  }

  @Test
  void installRunRemoveReinstallPurge() throws Exception {
    Run install = Host.run("dpkg", "-i", deb.toString());
    assertEquals(0, install.exit(), install.output());
    assertEquals(0, Host.run("getent", "passwd", "portcullis").exit(), "the service user exists");
    Installed.assertJarsOfThisBuild(Path.of("/"));
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(attrs("/usr/bin/portcullisd").permissions()));
    assertEquals("portcullis", attrs("/etc/portcullis/portcullis.yaml").owner().getName());
    assertEquals("rw-r-----", PosixFilePermissions.toString(attrs("/etc/portcullis/portcullis.yaml").permissions()));
    for (String dir : List.of("/var/lib/portcullis", "/var/log/portcullis")) {
      assertEquals("portcullis", attrs(dir).owner().getName(), dir);
    }
    assertTrue(Files.exists(Path.of("/lib/systemd/system/portcullis.service")));
    assertTrue(Files.isSymbolicLink(Path.of("/etc/systemd/system/multi-user.target.wants/portcullis.service")),
        "enabled on first install (deb-systemd-helper)");
    // systemd's own checker on the installed unit: syntax, and that ExecStart/ExecReload exist.
    Run verify = Host.run("systemd-analyze", "verify", "/lib/systemd/system/portcullis.service");
    assertEquals(0, verify.exit(), verify.output());
    assertEquals("", verify.output().strip(), "no complaint from systemd-analyze");

    // The shipped config as installed checks, with its TLS exclusions beside it (inspection off).
    assertEquals("rw-r--r--", PosixFilePermissions.toString(attrs("/etc/portcullis/tls-exclusions.txt")
        .permissions()));
    Run shipped = Host.run("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd", "--check");
    assertEquals(0, shipped.exit(), shipped.output());

    // The admin edits the conffile (free ports here, so that this test never collides with a running service).
    int admin = Host.freePort();
    int proxy = Host.freePort();
    String edited = Installed.editConfig("deb-test", admin, proxy);

    // No systemd here: the check an admin runs before a restart, then the unit's ExecStart, as the service user.
    Run check = Host.run("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd", "--check");
    assertEquals(0, check.exit(), check.output());
    HttpServer origin = Host.origin();
    Process daemon = Installed.start(admin, "target/installed-daemon.log");
    try {
      HttpResponse<String> r = Host.viaProxy(proxy, "http://127.0.0.1:" + origin.getAddress().getPort() + "/page");
      assertEquals(200, r.statusCode());
      assertEquals(Host.PAGE, r.body());
      assertTrue(Files.exists(Path.of("/var/lib/portcullis/admin.token")), "state in the data dir");
      // The inspection CA is made at the first start, its key the service user's alone.
      assertTrue(Files.exists(Path.of("/var/lib/portcullis/tls/ca.crt")));
      assertEquals("rw-------", PosixFilePermissions.toString(attrs("/var/lib/portcullis/tls/ca.key").permissions()));
      assertEquals("portcullis", attrs("/var/lib/portcullis/tls/ca.key").owner().getName());
      assertTrue(Files.size(Path.of("/var/log/portcullis/portcullis.log")) > 0,
          "the daemon logs where /etc/portcullis/logback.xml says");
    } finally {
      Installed.stop(daemon);
      origin.stop(0);
    }

    // remove keeps the conffile (with the admin's edits); a reinstall does not overwrite it
    assertEquals(0, Host.run("dpkg", "-r", "portcullis").exit());
    assertFalse(Files.exists(Path.of("/usr/share/portcullis/portcullis-daemon.jar")));
    assertEquals(edited, Files.readString(Path.of("/etc/portcullis/portcullis.yaml")));
    Run again = Host.run("dpkg", "-i", deb.toString());
    assertEquals(0, again.exit(), again.output());
    assertEquals(edited, Files.readString(Path.of("/etc/portcullis/portcullis.yaml")));

    // purge: nothing left
    assertEquals(0, Host.run("dpkg", "--purge", "portcullis").exit());
    for (String p : List.of("/etc/portcullis", "/var/lib/portcullis", "/var/log/portcullis", "/usr/share/portcullis",
        "/usr/bin/portcullisd", "/lib/systemd/system/portcullis.service",
        "/etc/systemd/system/multi-user.target.wants/portcullis.service")) {
      assertFalse(Files.exists(Path.of(p)), p + " is gone");
    }
    assertTrue(Host.run("getent", "passwd", "portcullis").exit() != 0, "the user is gone");
  }
}
