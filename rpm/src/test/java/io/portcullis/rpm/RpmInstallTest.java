package io.portcullis.rpm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Installed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The RPM, read by the real rpm tool (info, files, requires, scripts, digests, config files), then installed on this
 * machine (as root, as CI runs; --nodeps on Debian): the scriptlets create the user, the files and jars are in place,
 * the installed daemon answers health as the service user; erase keeps the edited config as .rpmsave.
 */
class RpmInstallTest {
  static Path rpm;

  @BeforeAll
  static void find() throws Exception {
    rpm = Installed.builtPackage(".noarch.rpm", "/usr/bin/rpm", "needs the rpm tool (Debian package rpm)");
    cleanUp();
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (rpm == null) {
      return;
    }
    Host.run("rpm", "-e", "--nodeps", "portcullis");
    for (String p : List.of("/etc/portcullis", "/var/lib/portcullis", "/var/log/portcullis")) {
      Host.run("rm", "-rf", p);
    }
    Host.run("userdel", "portcullis");
    Host.run("groupdel", "portcullis");
  }

  @Test
  void theRpmToolReadsItAndItsScriptletsInstallAndEraseIt() throws Exception {
    String f = rpm.toString();
    Run info = Host.run("rpm", "-qpi", f);
    assertTrue(info.output().contains("Name        : portcullis") && info.output().contains("Architecture: noarch")
        && info.output().contains("Build Host  : localhost"), info.output());
    Run requires = Host.run("rpm", "-qpR", f);
    assertTrue(requires.output().contains("java-headless >= 1:17") && requires.output().contains("systemd"),
        requires.output());
    Run list = Host.run("rpm", "-qpl", f);
    for (String p : List.of("/usr/bin/portcullisd", "/usr/bin/portcullis-console", "/etc/portcullis/portcullis.yaml",
        "/usr/lib/systemd/system/portcullis.service", "/usr/share/portcullis/portcullis-daemon.jar")) {
      assertTrue(list.output().contains(p), p + " in " + list.output());
    }
    assertEquals("/etc/portcullis/logback.xml\n/etc/portcullis/portcullis.yaml\n/etc/portcullis/tls-exclusions.txt",
        Host.run("rpm", "-qpc", f).output().strip());
    Run flags = Host.run("rpm", "-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", f);
    for (String conf : List.of("/etc/portcullis/portcullis.yaml", "/etc/portcullis/logback.xml",
        "/etc/portcullis/tls-exclusions.txt")) {
      assertTrue(flags.output().contains("cn " + conf + "\n"), "%config(noreplace) " + conf + ": " + flags.output());
    }
    Run scripts = Host.run("rpm", "-qp", "--scripts", f);
    assertTrue(scripts.output().contains("useradd -r") && scripts.output().contains("systemctl enable --now")
        && scripts.output().contains("\"$1\" -eq 0"), scripts.output());
    Run digests = Host.run("rpm", "-K", "--nosignature", f);
    assertEquals(0, digests.exit(), digests.output());

    Run install = Host.run("rpm", "-ivh", "--nodeps", "--force-debian", f);
    assertEquals(0, install.exit(), install.output());
    assertEquals(0, Host.run("getent", "passwd", "portcullis").exit(), "the %pre scriptlet made the user");
    Installed.assertJarsOfThisBuild(Path.of("/"));
    for (String dir : List.of("/var/lib/portcullis", "/var/log/portcullis", "/etc/portcullis/portcullis.yaml")) {
      assertEquals("portcullis", Files.readAttributes(Path.of(dir), PosixFileAttributes.class).owner().getName(), dir);
    }

    int admin = Host.freePort();
    String edited = Installed.editConfig("rpm-test", admin, Host.freePort());
    Installed.stop(Installed.start(admin, "target/installed-daemon.log"));

    Run erase = Host.run("rpm", "-e", "--nodeps", "portcullis");
    assertEquals(0, erase.exit(), erase.output());
    assertFalse(Files.exists(Path.of("/usr/share/portcullis/portcullis-daemon.jar")));
    assertEquals(edited, Files.readString(Path.of("/etc/portcullis/portcullis.yaml.rpmsave")),
        "the admin's edited config is kept as .rpmsave: " + erase.output());
  }
}
