package io.portcullis.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Portcullis as this build's packages install it (the DEB, the RPM; the OCI image's root), as their tests check it. */
public final class Installed {
  /** The installed config file, the package's conffile. */
  public static final Path CONFIG = Path.of("/etc/portcullis/portcullis.yaml");

  private Installed() {
  }

  /**
   * The package this module's build made in target/ (the first file whose name ends with {@code suffix}): skips the
   * test unless it runs as root and {@code tool} is there ({@code without} says what is missing then).
   */
  public static Path builtPackage(String suffix, String tool, String without) throws IOException {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "installs a package: runs as root (CI)");
    Assumptions.assumeTrue(Files.isExecutable(Path.of(tool)), without);
    try (var files = Files.list(Path.of("target"))) {
      return files.filter(p -> p.getFileName().toString().endsWith(suffix)).findFirst().orElseThrow();
    }
  }

  /**
   * The config file as an admin edits it: node {@code name}, the admin API and the proxy on the given loopback ports,
   * the ICAP server on a free one (free ports, so that a test never collides with a running service); what it wrote.
   */
  public static String editConfig(String name, int admin, int proxy) throws IOException {
    String text = """
        # edited by the admin
        node: { name: %s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        """.formatted(name, admin, proxy, Host.freePort());
    Files.writeString(CONFIG, text);
    return text;
  }

  /**
   * The installed daemon as the package's unit starts it (its ExecStart, as the service user: no systemd here), its
   * output in {@code log}; returns once /health/ready on {@code admin} says 200, else fails the test with the log.
   */
  public static Process start(int admin, String log) throws Exception {
    Process daemon = new ProcessBuilder("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd")
        .redirectErrorStream(true).redirectOutput(new File(log)).start();
    Host.awaitReady(daemon, admin, Path.of(log));
    return daemon;
  }

  /**
   * Fails the test unless the daemon and console jars installed below {@code root} (/ on this machine, an image's
   * root file system) are this build's, byte for byte.
   */
  public static void assertJarsOfThisBuild(Path root) throws Exception {
    assertEquals(Host.sha256(Path.of("../appliance-daemon/target/portcullis-daemon.jar")),
        Host.sha256(root.resolve("usr/share/portcullis/portcullis-daemon.jar")), "the daemon jar of this build");
    assertEquals(Host.sha256(Path.of("../console/target/portcullis-console.jar")),
        Host.sha256(root.resolve("usr/share/portcullis/portcullis-console.jar")), "the console jar of this build");
  }

  /** SIGTERM, as systemctl stop sends it; waits up to 30 s for the exit. */
  public static void stop(Process daemon) throws InterruptedException {
    daemon.destroy();
    daemon.waitFor(30, TimeUnit.SECONDS);
  }
}
