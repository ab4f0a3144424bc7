package io.portcullis.deb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
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
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "installs a package: runs as root (CI)");
    Assumptions.assumeTrue(new File("/usr/bin/dpkg").canExecute(), "needs dpkg (Debian)");
    try (var files = Files.list(Path.of("target"))) {
      deb = files.filter(p -> p.getFileName().toString().endsWith("_all.deb")).findFirst().orElseThrow();
    }
    run("dpkg", "--purge", "portcullis"); // a leftover of an interrupted run
  }

  @AfterAll
  static void purge() throws Exception {
    if (deb != null) {
      run("dpkg", "--purge", "portcullis");
    }
  }

  record Run(int exit, String output) {
  }

  static Run run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd));
    return new Run(p.exitValue(), out);
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static String sha256(Path p) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  static PosixFileAttributes attrs(String path) throws IOException {
    return Files.readAttributes(Path.of(path), PosixFileAttributes.class);
  }

  @Test
  void installRunRemoveReinstallPurge() throws Exception {
    Run install = run("dpkg", "-i", deb.toString());
    assertEquals(0, install.exit(), install.output());
    assertEquals(0, run("getent", "passwd", "portcullis").exit(), "the service user exists");
    assertEquals(sha256(Path.of("../appliance-daemon/target/portcullis-daemon.jar")),
        sha256(Path.of("/usr/share/portcullis/portcullis-daemon.jar")), "the daemon jar of this build");
    assertEquals(sha256(Path.of("../cli/target/portcullis-console.jar")),
        sha256(Path.of("/usr/share/portcullis/portcullis-console.jar")), "the console jar of this build");
    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(attrs("/usr/bin/portcullisd").permissions()));
    assertEquals("portcullis", attrs("/etc/portcullis/portcullis.yaml").owner().getName());
    assertEquals("rw-r-----", PosixFilePermissions.toString(attrs("/etc/portcullis/portcullis.yaml").permissions()));
    for (String dir : List.of("/var/lib/portcullis", "/var/log/portcullis")) {
      assertEquals("portcullis", attrs(dir).owner().getName(), dir);
    }
    assertTrue(Files.exists(Path.of("/lib/systemd/system/portcullis.service")));

    // The admin edits the conffile (free ports here, so that this test never collides with a running service).
    int admin = freePort();
    int proxy = freePort();
    String edited = """
        # edited by the admin
        node: { name: deb-test }
        admin: { listen: 127.0.0.1:%d }
        proxy: { listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        """.formatted(admin, proxy, freePort());
    Files.writeString(Path.of("/etc/portcullis/portcullis.yaml"), edited);

    // No systemd here: the unit's ExecStartPre and ExecStart, as the service user.
    Run check = run("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd", "--check");
    assertEquals(0, check.exit(), check.output());
    HttpServer origin = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    origin.createContext("/", x -> {
      byte[] b = "hello from the origin".getBytes(StandardCharsets.UTF_8);
      x.sendResponseHeaders(200, b.length);
      x.getResponseBody().write(b);
      x.close();
    });
    origin.start();
    Process daemon = new ProcessBuilder("runuser", "-u", "portcullis", "--", "/usr/bin/portcullisd")
        .redirectErrorStream(true).redirectOutput(new File("target/installed-daemon.log")).start();
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      int status = 0;
      for (int i = 0; i < 150 && status != 200; i++) {
        try {
          status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/health/ready"))
              .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
          Thread.sleep(200);
        }
      }
      assertEquals(200, status, Files.readString(Path.of("target/installed-daemon.log")));
      HttpClient viaProxy = HttpClient.newBuilder().proxy(java.net.ProxySelector.of(
          new InetSocketAddress("127.0.0.1", proxy))).build();
      HttpResponse<String> r = viaProxy.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
          + origin.getAddress().getPort() + "/page")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertEquals("hello from the origin", r.body());
      assertTrue(Files.exists(Path.of("/var/lib/portcullis/admin.token")), "state in the data dir");
    } finally {
      daemon.destroy();
      daemon.waitFor(30, TimeUnit.SECONDS);
      origin.stop(0);
    }

    // remove keeps the conffile (with the admin's edits); a reinstall does not overwrite it
    assertEquals(0, run("dpkg", "-r", "portcullis").exit());
    assertFalse(Files.exists(Path.of("/usr/share/portcullis/portcullis-daemon.jar")));
    assertEquals(edited, Files.readString(Path.of("/etc/portcullis/portcullis.yaml")));
    Run again = run("dpkg", "-i", deb.toString());
    assertEquals(0, again.exit(), again.output());
    assertEquals(edited, Files.readString(Path.of("/etc/portcullis/portcullis.yaml")));

    // purge: nothing left
    assertEquals(0, run("dpkg", "--purge", "portcullis").exit());
    for (String p : List.of("/etc/portcullis", "/var/lib/portcullis", "/var/log/portcullis", "/usr/share/portcullis",
        "/usr/bin/portcullisd", "/lib/systemd/system/portcullis.service")) {
      assertFalse(Files.exists(Path.of(p)), p + " is gone");
    }
    assertTrue(run("getent", "passwd", "portcullis").exit() != 0, "the user is gone");
  }
}
