package io.portcullis.testsupport;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real peers from Debian packages (nginx, Squid, curl, c-icap-client), run on loopback in a test's own directory.
 * A missing peer fails the test with how to install it: `.ci/run` as root installs what .ci/packages.txt lists.
 */
public final class Peers {
  private Peers() {
  }

  /** The path of an installed program, or an assertion error naming its package. */
  public static String require(String program, String debianPackage) {
    for (String dir : List.of("/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin", "/usr/local/sbin")) {
      Path p = Path.of(dir, program);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw new AssertionError(program + " is not installed: apt-get install " + debianPackage
        + " (or run .ci/run as root, which installs every package in .ci/packages.txt)");
  }

  /** Makes {@code dir} and its parents traversable by other users (peers drop root). */
  public static void openUp(Path dir) throws IOException {
    for (Path p = dir.toAbsolutePath(); p != null && !p.toString().equals("/"); p = p.getParent()) {
      var perms = Files.getPosixFilePermissions(p);
      perms.addAll(PosixFilePermissions.fromString("r-xr-xr-x"));
      Files.setPosixFilePermissions(p, perms);
    }
  }

  public static void waitForPort(int port, Process owner, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return;
      } catch (IOException e) {
        if (owner != null && !owner.isAlive()) {
          throw new AssertionError("peer exited with " + owner.exitValue() + ": " + read(log));
        }
        Thread.sleep(50);
      }
    }
    throw new AssertionError("nothing listens on " + port + " after 30 s: " + read(log));
  }

  public static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "(no " + file + ")";
    } catch (IOException e) {
      return e.toString();
    }
  }

  public static void stop(Process p) {
    if (p == null) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * nginx in dir/nginx on a free loopback port, serving {@code files} (name → content, a char a byte) written to
   * dir/www; {@code cleanup} stops it. Its port.
   */
  public static int nginx(Cleanup cleanup, Path dir, Map<String, String> files) throws Exception {
    Path www = Files.createDirectories(dir.resolve("www"));
    for (var f : files.entrySet()) {
      Files.writeString(www.resolve(f.getKey()), f.getValue(), StandardCharsets.ISO_8859_1);
    }
    int port = Host.freePort();
    cleanup.add(nginx(dir.resolve("nginx"), www, port));
    return port;
  }

  /**
   * A self-signed EC P-256 certificate for CN=localhost and the DNS {@code names} (openssl req), valid 2 days:
   * dir/NAME.crt and dir/NAME.key; the certificate's path.
   */
  public static Path selfSigned(Path dir, String name, String... names) throws Exception {
    Files.createDirectories(dir);
    String san = "subjectAltName=" + String.join(",", java.util.Arrays.stream(names).map(n -> "DNS:" + n).toList());
    Host.Run r = Host.runIn(dir, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=localhost",
        "-addext", san);
    if (r.exit() != 0) {
      throw new IllegalStateException("openssl req: " + r.output());
    }
    return dir.resolve(name + ".crt");
  }

  /** An nginx server block (for {@link #nginx}'s extraServers) serving {@code root} over TLS on 127.0.0.1:port. */
  public static String tlsServer(int port, Path certificate, Path key, Path root) {
    return """
        server {
          listen 127.0.0.1:%d ssl;
          ssl_certificate %s;
          ssl_certificate_key %s;
          root %s;
        }
        """.formatted(port, certificate, key, root);
  }

  /** nginx serving {@code root} on 127.0.0.1:port, in the foreground. */
  public static Process nginx(Path dir, Path root, int port) throws Exception {
    return nginx(dir, root, port, "");
  }

  /** nginx as above, with {@code extraServers} (more server blocks) in its http section. */
  public static Process nginx(Path dir, Path root, int port, String extraServers) throws Exception {
    String nginx = require("nginx", "nginx-light");
    Files.createDirectories(dir.resolve("tmp"));
    openUp(root);
    Path conf = dir.resolve("nginx.conf");
    Files.writeString(conf, """
        daemon off;
        master_process off;
        pid %1$s/nginx.pid;
        error_log %1$s/error.log;
        events {}
        http {
          access_log %1$s/access.log;
          client_body_temp_path %1$s/tmp;
          proxy_temp_path %1$s/tmp;
          fastcgi_temp_path %1$s/tmp;
          uwsgi_temp_path %1$s/tmp;
          scgi_temp_path %1$s/tmp;
          server {
            listen 127.0.0.1:%2$d;
            root %3$s;
          }
        %4$s
        }
        """.formatted(dir, port, root, extraServers));
    Process p = new ProcessBuilder(nginx, "-c", conf.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("nginx.out").toFile()).start();
    waitForPort(port, p, dir.resolve("error.log"));
    return p;
  }

  /**
   * Squid 5 on 127.0.0.1:port in front of a Portcullis ICAP server on 127.0.0.1:{@code icapPort}: REQMOD and RESPMOD
   * (bypass off) at its av/reqmod and av/respmod, the client's address sent; in the foreground.
   */
  public static Process squid(Path dir, int port, int icapPort) throws Exception {
    return squid(dir, port, List.of(
        "http_port 127.0.0.1:" + port,
        "http_access allow localhost",
        "http_access deny all",
        "icap_enable on",
        "icap_send_client_ip on",
        "icap_service svc_req reqmod_precache bypass=off icap://127.0.0.1:" + icapPort + "/av/reqmod",
        "icap_service svc_resp respmod_precache bypass=off icap://127.0.0.1:" + icapPort + "/av/respmod",
        "adaptation_access svc_req allow all",
        "adaptation_access svc_resp allow all"));
  }

  /**
   * Squid 5 in the foreground with {@code lines} (ports, access rules, ...) after the settings every test Squid has
   * (its files in {@code dir}, no cache); returns once {@code port} listens.
   */
  public static Process squid(Path dir, int port, List<String> lines) throws Exception {
    String squid = require("squid", "squid");
    Files.createDirectories(dir);
    List<String> all = new ArrayList<>(List.of(
        "pid_filename " + dir + "/squid.pid",
        "access_log stdio:" + dir + "/access.log",
        "cache_log " + dir + "/cache.log",
        "cache_effective_user proxy",
        "cache deny all",
        "shutdown_lifetime 1 seconds",
        "coredump_dir " + dir,
        "netdb_filename none"));
    all.addAll(lines);
    Path conf = dir.resolve("squid.conf");
    Files.writeString(conf, String.join("\n", all) + "\n");
    openUp(dir);
    Host.Run chown = Host.runIn(dir, "chown", "-R", "proxy:proxy", dir.toString());
    if (chown.exit() != 0) {
      throw new AssertionError("chown for squid failed (tests with Squid run as root): " + chown.output());
    }
    Host.Run parse = Host.runIn(dir, squid, "-k", "parse", "-f", conf.toString());
    if (parse.exit() != 0) {
      throw new AssertionError("squid -k parse: " + parse.output());
    }
    Process p = new ProcessBuilder(squid, "-N", "-f", conf.toString(), "-n", "pc" + port).redirectErrorStream(true)
        .redirectOutput(dir.resolve("squid.out").toFile()).start();
    waitForPort(port, p, dir.resolve("cache.log"));
    return p;
  }

  /** c-icap 0.5 with its echo service ({@code icap://127.0.0.1:port/echo}), in the foreground. */
  public static Process cIcap(Path dir, int port) throws Exception {
    return cIcap(dir, port, List.of("AccessLog " + dir + "/access.log"));
  }

  /** As above, with {@code lines} (its access log: AccessLog, LogFormat) after the settings every test c-icap has. */
  public static Process cIcap(Path dir, int port, List<String> lines) throws Exception {
    String cicap = require("c-icap", "c-icap");
    Files.createDirectories(dir);
    String lib = "/usr/lib/x86_64-linux-gnu/c_icap";
    Path conf = dir.resolve("c-icap.conf");
    Files.writeString(conf, String.join("\n",
        "Port 127.0.0.1:" + port, "PidFile " + dir + "/c-icap.pid", "CommandsSocket " + dir + "/c-icap.ctl",
        "ServerLog " + dir + "/server.log", "TmpDir " + dir,
        "StartServers 1", "MaxServers 2", "ThreadsPerChild 32", "MinSpareThreads 4", "MaxSpareThreads 64",
        "MaxRequestsPerChild 0", "MaxKeepAliveRequests -1", "KeepAliveTimeout 600", "Timeout 300",
        "ModulesDir " + lib, "ServicesDir " + lib, "Service echo srv_echo.so", String.join("\n", lines), ""));
    Process p = new ProcessBuilder(cicap, "-N", "-f", conf.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("c-icap.out").toFile()).start();
    waitForPort(port, p, dir.resolve("server.log"));
    return p;
  }

  /**
   * A Portcullis node in its own JVM (so that a test can kill it outright), on {@code yaml}, with its data in
   * {@code dir}; returns once {@code port} listens. One event loop and a small heap: several share the 2 cores.
   */
  public static Process portcullis(Path dir, String yaml, int port) throws Exception {
    Files.createDirectories(dir);
    Path conf = dir.resolve("portcullis.yaml");
    if (yaml != null) { // null: start again on the file as the last run left it
      Files.writeString(conf, yaml);
    }
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        "io.portcullis.daemon.Main", "--config", conf.toString(), "--data-dir", dir.resolve("data").toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("daemon.log").toFile()))
        .start();
    waitForPort(port, p, dir.resolve("daemon.log"));
    return p;
  }

  /** Kills a process outright (SIGKILL), as a crash or a pulled plug would. */
  public static void kill(Process p) throws InterruptedException {
    if (p != null) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
