package io.portcullis.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Installed;
import java.io.File;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The OCI image as a container runtime would use it (no engine runs here): its layers unpacked in the manifest's
 * order, the jars byte-identical to the build's, then the entrypoint run chrooted as the image's user with /proc and
 * /dev mounted and the config volume holding an admin's file; the daemon answers /health/ready and proxies a request.
 */
class OciImageTest {
  static Path root;
  static final List<Path> mounts = new ArrayList<>();

  @BeforeAll
  static void unpack() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "chroot and mount: runs as root (CI)");
    Path tar = Path.of("target/portcullis-oci.tar");
    Path image = Path.of("target/image");
    Host.run("rm", "-rf", image.toString());
    Files.createDirectories(image);
    Run x = Host.run("tar", "-xf", tar.toString(), "-C", image.toString());
    assertEquals(0, x.exit(), x.output());
    root = Path.of("target/image-root").toAbsolutePath();
    Host.run("rm", "-rf", root.toString());
    Files.createDirectories(root);
    String manifest = Files.readString(image.resolve("manifest.json"));
    Matcher layers = Pattern.compile("\"Layers\":\\[([^]]*)]").matcher(manifest);
    assertTrue(layers.find(), manifest);
    for (String layer : layers.group(1).replace("\"", "").split(",")) {
      Run u = Host.run("tar", "--same-owner", "-p", "-xzf", image.resolve(layer).toString(), "-C", root.toString());
      assertEquals(0, u.exit(), u.output());
    }
  }

  @AfterAll
  static void unmount() throws Exception {
    for (Path m : mounts) {
      Host.run("umount", "-l", m.toString());
    }
  }

  @Test
  void theImageCarriesTheBuildsJarsAndItsEntrypointServesAsTheImageUser() throws Exception {
    Installed.assertJarsOfThisBuild(root);
    assertEquals(Host.sha256(Path.of("../packaging/share/jvm.options")),
        Host.sha256(root.resolve("usr/share/portcullis/jvm.options")), "the launchers' JVM options, as packaged");
    String config = Files.readString(Path.of("target/image/config.json"));
    Matcher user = Pattern.compile("\"User\":\"(\\d+):(\\d+)\"").matcher(config);
    assertTrue(user.find(), config);
    assertTrue(Integer.parseInt(user.group(1)) != 0, "a non-root user");
    assertTrue(config.contains("\"/etc/portcullis\":{}") && config.contains("\"/var/lib/portcullis\":{}"),
        "config and data are volumes: " + config);
    Matcher ep = Pattern.compile("\"Entrypoint\":\\[([^]]*)]").matcher(config);
    assertTrue(ep.find(), config);
    List<String> entrypoint = List.of(ep.group(1).replace("\"", "").split(","));
    PosixFileAttributes data = Files.readAttributes(root.resolve("var/lib/portcullis"), PosixFileAttributes.class);
    assertEquals(user.group(1), Files.getAttribute(root.resolve("var/lib/portcullis"), "unix:uid").toString(),
        "the data dir is the image user's");
    assertEquals("rwxr-x---", PosixFilePermissions.toString(data.permissions()));

    // What a runtime provides: /proc, /dev; the admin's config on the config volume (free ports: no collisions).
    for (String fs : List.of("proc", "dev")) {
      Path m = root.resolve(fs);
      Files.createDirectories(m);
      Run r = fs.equals("proc") ? Host.run("mount", "-t", "proc", "proc", m.toString())
          : Host.run("mount", "--bind", "/dev", m.toString());
      assertEquals(0, r.exit(), r.output());
      mounts.add(m);
    }
    int admin = Host.freePort();
    int proxy = Host.freePort();
    Files.writeString(root.resolve("etc/portcullis/portcullis.yaml"), """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d }
        icap: { listen: 127.0.0.1:%d }
        console: { ssh: { listen: 127.0.0.1:%d } }
        """.formatted(admin, proxy, Host.freePort(), Host.freePort()));
    Host.run("chown", user.group(1) + ":" + user.group(2), root.resolve("etc/portcullis/portcullis.yaml").toString());

    HttpServer origin = Host.origin();
    List<String> cmd = new ArrayList<>(List.of("chroot", "--userspec=" + user.group(1) + ":" + user.group(2),
        root.toString()));
    cmd.addAll(entrypoint);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(new File("target/image-daemon.log"));
    pb.environment().clear();
    pb.environment().put("PATH", "/opt/java/bin");
    pb.environment().put("PORTCULLIS_NODE_NAME", "oci-node"); // an unattended-install answer, as `docker run -e`
    Process daemon = pb.start();
    try {
      Host.awaitReady(daemon, admin, Path.of("target/image-daemon.log"));
      String log = Files.readString(Path.of("target/image-daemon.log"));
      assertTrue(log.contains("epoll (native)"), "Netty's native transport loads in the image: " + log);
      HttpResponse<String> r = Host.viaProxy(proxy, "http://127.0.0.1:" + origin.getAddress().getPort() + "/page");
      assertEquals(200, r.statusCode());
      assertEquals(Host.PAGE, r.body());
      assertTrue(Files.readString(root.resolve("etc/portcullis/portcullis.yaml")).contains("oci-node"),
          "the image user rewrote its config volume with the answer");
      assertTrue(Files.exists(root.resolve("var/lib/portcullis/revisions")), "state on the data volume");
    } finally {
      daemon.destroy();
      daemon.waitFor(30, TimeUnit.SECONDS);
      origin.stop(0);
    }
  }
}
