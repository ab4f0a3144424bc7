package io.portcullis.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** A real rsyslogd (Debian's rsyslog and rsyslog-gnutls) on loopback that writes what it receives to a file. */
public final class Rsyslog {
  private Rsyslog() {
  }


  /** A CA (ca.pem) and a server certificate it signed for 127.0.0.1 and localhost (server.pem, server.key). */
  public static void certificates(Path dir) throws Exception {
    Peers.require("openssl", "openssl");
    Files.writeString(dir.resolve("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n");
    for (String[] command : List.of(
        new String[] {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Portcullis Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
        new String[] {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"},
        new String[] {"openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"})) {
      Host.Run r = Host.runIn(dir, command);
      assertEquals(0, r.exit(), String.join(" ", command) + ": " + r.output());
    }
  }

  /** What rsyslogd received: one line per message, {@code pri|app-name|hostname|procid|msgid|msg}. */
  public record Server(int udp, int tcp, int tls, Process process, Path received, Path log) {

    public List<String> lines() throws Exception {
      if (!Files.exists(received)) {
        return List.of();
      }
      String text = Files.readString(received, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n'); // a line still being written is not yet received
      return end < 0 ? List.of() : List.of(text.substring(0, end).split("\n", -1));
    }

    public List<String> await(Predicate<List<String>> done, String what) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        List<String> lines = lines();
        if (done.test(lines)) {
          return lines;
        }
        if (System.nanoTime() > deadline || !process.isAlive()) {
          throw new AssertionError("rsyslogd did not receive " + what + " (alive: " + process.isAlive()
              + "); received:\n" + String.join("\n", lines) + "\nits log:\n" + Peers.read(log));
        }
        Thread.sleep(100);
      }
    }
  }

  /**
   * rsyslogd in the foreground with its own config, listening on 127.0.0.1 on the ports that are not 0. Only
   * imudp/imtcp are loaded (no imuxsock, imklog: /dev/log and the kernel log stay untouched); its own messages go to
   * rsyslogd.log rather than to the system logger.
   */
  public static Server start(Path dir, int udp, int tcp, int tls) throws Exception {
    String rsyslogd = Peers.require("rsyslogd", "rsyslog");
    Path received = dir.resolve("received.log");
    Path log = dir.resolve("rsyslogd.log");
    StringBuilder conf = new StringBuilder();
    conf.append("global(workDirectory=\"").append(dir).append("\" processInternalMessages=\"on\"")
        // Defaults escape control characters (#012) and cut messages at 8 KiB; show what arrived, whole.
        .append(" parser.escapeControlCharactersOnReceive=\"off\" maxMessageSize=\"64k\"");
    if (tls > 0) {
      conf.append(" defaultNetstreamDriverCAFile=\"").append(dir.resolve("ca.pem")).append('"')
          .append(" defaultNetstreamDriverCertFile=\"").append(dir.resolve("server.pem")).append('"')
          .append(" defaultNetstreamDriverKeyFile=\"").append(dir.resolve("server.key")).append('"');
    }
    conf.append(")\n");
    conf.append("template(name=\"raw\" type=\"string\"")
        .append(" string=\"%pri%|%app-name%|%hostname%|%procid%|%msgid%|%msg%\\n\")\n");
    conf.append("ruleset(name=\"in\") { action(type=\"omfile\" file=\"").append(received)
        .append("\" template=\"raw\") }\n");
    if (udp > 0) {
      conf.append("module(load=\"imudp\")\n");
      conf.append("input(type=\"imudp\" address=\"127.0.0.1\" port=\"").append(udp).append("\" ruleset=\"in\")\n");
    }
    if (tcp > 0 || tls > 0) {
      conf.append("module(load=\"imtcp\")\n");
    }
    if (tcp > 0) {
      conf.append("input(type=\"imtcp\" address=\"127.0.0.1\" port=\"").append(tcp).append("\" ruleset=\"in\")\n");
    }
    if (tls > 0) {
      // One instance mixes plain and TLS listeners: the stream driver is set per input.
      conf.append("input(type=\"imtcp\" address=\"127.0.0.1\" port=\"").append(tls).append("\" ruleset=\"in\"")
          .append(" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n");
    }
    conf.append("action(type=\"omfile\" file=\"").append(log).append("\")\n");
    Path confFile = dir.resolve("rsyslog.conf");
    Files.writeString(confFile, conf.toString());
    Host.Run check = Host.runIn(dir, rsyslogd, "-N1", "-f", confFile.toString());
    assertEquals(0, check.exit(), "rsyslogd -N1: " + check.output());
    Process p = new ProcessBuilder(rsyslogd, "-n", "-f", confFile.toString(), "-i", dir.resolve("rsyslogd.pid")
        .toString()).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("rsyslogd.out").toFile()).start();
    if (tcp > 0) {
      Peers.waitForPort(tcp, p, dir.resolve("rsyslogd.out"));
    }
    if (tls > 0) {
      Peers.waitForPort(tls, p, dir.resolve("rsyslogd.out")); // rsyslogd logs the bare connect; harmless
    }
    if (udp > 0) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!udpBound(udp) && p.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(p.isAlive(), () -> Peers.read(dir.resolve("rsyslogd.out")));
    }
    return new Server(udp, tcp, tls, p, received, log);
  }

  /** Whether something has bound 127.0.0.1:port for UDP (a datagram sent earlier would be lost). */
  public static boolean udpBound(int port) {
    String suffix = String.format("0100007F:%04X", port);
    try {
      return Files.readAllLines(Path.of("/proc/net/udp")).stream()
          .anyMatch(l -> l.trim().split("\\s+")[1].equals(suffix));
    } catch (Exception e) {
      return false;
    }
  }
}
