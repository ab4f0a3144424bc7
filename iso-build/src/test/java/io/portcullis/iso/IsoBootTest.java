package io.portcullis.iso;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.portcullis.console.PasswordHash;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Kdc;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The ISO booted in qemu (TCG: no KVM here), as an admin would: first with a seed disk (SSH key and password hash)
 * and an empty data disk by BIOS, serving a page from the host through its proxy, taking a block rule committed over
 * SSH; then by UEFI with the data disk only, still blocking and still accepting the key; then with no seed and only an
 * empty disk: the serial console offers it as the data disk and, once the test says yes, asks for the admin password,
 * which lands on that disk.
 */
class IsoBootTest {
  /**
   * One thread for all vCPUs: with multi-threaded TCG (qemu's default for x86 on an x86 host) a JVM in the guest now
   * and then died of SIGSEGV on the first instruction of code it had just compiled (docs/install.md, "JVM crashes
   * under TCG"). iso-build/boot-time takes the same setting.
   */
  static final String ACCEL = "tcg,thread=single";
  static final Path ISO = Path.of("target/portcullis.iso").toAbsolutePath();
  static final Path DIR = Path.of("target/boot-test").toAbsolutePath();
  static HttpServer origin;

  @BeforeAll
  static void setUp() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "the ISO is built as root (CI)");
    assertTrue(Files.exists(ISO), "the build made " + ISO);
    Host.run("rm", "-rf", DIR.toString());
    Files.createDirectories(DIR);
    origin = Host.origin();
  }

  @AfterAll
  static void tearDown() {
    if (origin != null) {
      origin.stop(0);
    }
  }

  /**
   * The daemon's JVM crash reports (hs_err) on the data disk {@code disk}, where portcullisd writes them, each with its
   * first lines; empty when there is none (or {@code disk} is no file system yet). Read from a copy, so that the next
   * boot still finds the disk as the power-off left it.
   */
  static List<String> crashReports(Path disk) throws Exception {
    Path copy = DIR.resolve("inspect.img");
    Files.copy(disk, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try {
      Host.run("e2fsck", "-fy", copy.toString()); // replays the journal, which debugfs would not read
      Run ls = Host.run("debugfs", "-R", "ls /var/lib/portcullis/crash", copy.toString());
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("hs_err_pid\\d+\\.log").matcher(ls.output());
      List<String> reports = new ArrayList<>();
      while (m.find()) {
        Run report = Host.run("debugfs", "-R", "cat /var/lib/portcullis/crash/" + m.group(), copy.toString());
        reports.add(m.group() + ":\n" + report.output().lines().limit(40)
            .collect(java.util.stream.Collectors.joining("\n")));
      }
      return reports;
    } finally {
      Files.delete(copy);
    }
  }

  /**
   * One VM: qemu in TCG with user networking forwarding SSH (22), the proxy (3128) and the balancer's default
   * frontends (web on 8080, icap on 1345) to loopback; the seed disk (if any) and the data disk (or the disk that is to
   * become it). Its {@link #close} fails the test if a JVM in the guest crashed.
   */
  record Vm(String name, Process qemu, Path data, Path serial, Path console, int ssh, int proxy,
      int proxyOnSecondAddress, int web, int icap, long startedNanos) implements AutoCloseable {
    static Vm boot(String name, boolean uefi, Path seed, Path data) throws Exception {
      int ssh = Host.freePort();
      int proxy = Host.freePort();
      int proxy2 = Host.freePort();
      int web = Host.freePort();
      int icap = Host.freePort();
      Path serial = DIR.resolve(name + "-serial.log");
      Path console = DIR.resolve(name + "-serial.sock"); // what the test types on the serial console goes in here
      List<String> cmd = new ArrayList<>(List.of("timeout", "900", "qemu-system-x86_64", "-accel", ACCEL, "-m",
          "1024", "-smp", "2", "-machine", "pc", "-display", "none", "-monitor", "none", "-no-reboot",
          "-chardev", "socket,id=ser0,path=" + console + ",server=on,wait=off,logfile=" + serial,
          "-serial", "chardev:ser0", "-cdrom", ISO.toString(),
          "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:" + ssh + "-:22,hostfwd=tcp:127.0.0.1:" + proxy + "-:3128,"
              + "hostfwd=tcp:127.0.0.1:" + proxy2 + "-10.0.2.16:3128,hostfwd=tcp:127.0.0.1:" + web + "-:8080,"
              + "hostfwd=tcp:127.0.0.1:" + icap + "-:1345",
          "-device", "virtio-net-pci,netdev=n0"));
      if (uefi) {
        Path vars = DIR.resolve(name + "-vars.fd");
        Files.copy(Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"), vars);
        cmd.addAll(List.of("-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
            "-drive", "if=pflash,format=raw,file=" + vars));
      }
      for (Path d : seed == null ? List.of(data) : List.of(seed, data)) {
        cmd.addAll(List.of("-drive", "file=" + d + ",format=raw,if=virtio"));
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(DIR.resolve(name + "-qemu.log").toFile()).start();
      return new Vm(name, p, data, serial, console, ssh, proxy, proxy2, web, icap, System.nanoTime());
    }

    /** Types {@code text} on the serial console, as an admin at the VM's console would. */
    void type(String text) throws Exception {
      try (java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(
          java.net.UnixDomainSocketAddress.of(console))) {
        c.write(java.nio.ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)));
        Thread.sleep(300); // qemu reads it before the close
      }
    }

    String serialLog() throws IOException {
      return Files.exists(serial) ? Files.readString(serial, StandardCharsets.ISO_8859_1) : "";
    }

    /** Waits until the serial console shows {@code text}; returns the seconds since the VM started. */
    double await(String text, int seconds) throws Exception {
      awaitLog(log -> log.contains(text), "\"" + text + "\"", seconds);
      return (System.nanoTime() - startedNanos) / 1e9;
    }

    /** Polls the serial log twice a second until {@code done} holds for it; returns that log. */
    private String awaitLog(java.util.function.Predicate<String> done, String what, int seconds) throws Exception {
      for (int i = 0; i < seconds * 2; i++) {
        String log = serialLog();
        if (done.test(log)) {
          return log;
        }
        assertTrue(qemu.isAlive(), "qemu ended: " + log);
        Thread.sleep(500);
      }
      throw new AssertionError("no " + what + " on the serial console in " + seconds + " s:\n" + serialLog());
    }

    HttpResponse<String> viaProxy(String url) throws Exception {
      return viaProxy(proxy, url);
    }

    /** Through the proxy on the guest's second address, 10.0.2.16, which only a static network setting gives. */
    int statusOnSecondAddress(String url) {
      try {
        return viaProxy(proxyOnSecondAddress, url).statusCode();
      } catch (Exception e) {
        return -1;
      }
    }

    HttpResponse<String> viaProxy(int port, String url) throws Exception {
      return Host.viaProxy(port, url);
    }

    /** The first line of the answer to an ICAP OPTIONS sent through the balancer's icap frontend. */
    String icapOptionsViaBalancer() throws IOException {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", icap)) {
        s.setSoTimeout(30_000);
        s.getOutputStream().write(("OPTIONS icap://127.0.0.1:1345/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1:1345\r\n"
            + "Encapsulated: null-body=0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        StringBuilder line = new StringBuilder();
        for (int c = s.getInputStream().read(); c >= 0 && c != '\r'; c = s.getInputStream().read()) {
          line.append((char) c);
        }
        return line.toString();
      }
    }

    // LogLevel=INFO: ssh says why it gave up ("Connection closed by", "timed out") only at INFO; at ERROR a failed
    // connection is an exit code 255 and no word. ConnectTimeout bounds the banner exchange too, and under TCG the
    // guest's first SSH session (its classes loaded, the host key read) competes with two JVMs starting.
    List<String> ssh(String... extra) {
      List<String> a = new ArrayList<>(List.of("ssh", "-p", Integer.toString(ssh), "-o", "StrictHostKeyChecking=no",
          "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=INFO", "-o", "ConnectTimeout=60"));
      a.addAll(List.of(extra));
      return a;
    }

    /** The last {@code n} printable characters of {@code log}. */
    static String tail(String log, int n) {
      String p = log.replaceAll("\u001b\\[[0-9;?]*[A-Za-z]", "").replaceAll("[^\\x20-\\x7e\\n]", "");
      return p.substring(Math.max(0, p.length() - n));
    }

    Run sshKey(Path key, Path stdin, String... command) throws Exception {
      List<String> a = ssh("-i", key.toString(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes");
      if (stdin != null) {
        a.add("-T");
      }
      a.add("admin@127.0.0.1");
      a.addAll(List.of(command));
      return Host.runWithInput(stdin, a.toArray(String[]::new));
    }

    /**
     * Powers the VM off (what was committed is on the data disk already: fsync), then fails the test if a JVM in it
     * crashed: a crash report of the daemon's on the data disk, or a JVM's fatal error on the serial console (the
     * local console's JVMs write theirs there). A failure of the test's own comes first, with this one added to it.
     */
    @Override
    public void close() throws Exception {
      qemu.destroy();
      if (!qemu.waitFor(30, TimeUnit.SECONDS)) {
        qemu.destroyForcibly().waitFor();
      }
      List<String> crashes = new ArrayList<>(crashReports(data));
      String log = tail(serialLog(), Integer.MAX_VALUE);
      for (String sign : List.of("A fatal error has been detected", "ended abnormally")) {
        for (int i = log.indexOf(sign); i >= 0; i = log.indexOf(sign, i + sign.length())) {
          crashes.add("serial console: " + log.substring(Math.max(0, i - 100), Math.min(log.length(), i + 900)));
        }
      }
      if (!crashes.isEmpty()) {
        String report = String.join("\n\n", crashes);
        System.out.printf("a JVM crashed in the %s boot:%n%s%n", name, report);
        throw new AssertionError("a JVM crashed in the " + name + " boot (" + ACCEL + "):\n" + report);
      }
    }
  }

  /**
   * Kerberos single sign-on set up on the appliance from its SSH console alone (no shell, no scp): the keytab and
   * krb5.conf imported as Base64 lines, the settings committed; curl with a ticket from an MIT KDC on the host gets
   * through (the appliance checks tickets with the keytab alone), without one it gets 407. Then authentication is
   * turned off again for the boots after.
   */
  static void kerberosSetUpOverSsh(Vm vm, Path key, String page) throws Exception {
    Kdc kdc = Kdc.start(DIR.resolve("kdc"));
    try {
      for (Path f : List.of(kdc.keytab(), kdc.krb5Conf())) {
        String name = f.getFileName().toString().equals("krb5.conf") ? "krb5.conf" : "proxy.keytab";
        Run imported = vm.sshKey(key, null, "file import " + name + " "
            + Base64.getEncoder().encodeToString(Files.readAllBytes(f)));
        assertEquals(0, imported.exit(), imported.output() + Vm.tail(vm.serialLog(), 1500));
        assertTrue(imported.output().contains("mode 0600"), imported.output());
      }
      Path sso = Files.writeString(DIR.resolve("sso.txt"), """
          configure
          set proxy auth enabled true
          set proxy auth negotiate keytab proxy.keytab
          set proxy auth negotiate principal %s
          set proxy auth negotiate krb5Conf krb5.conf
          commit comment kerberos single sign-on
          exit
          """.formatted(Kdc.SERVICE));
      Run commit = vm.sshKey(key, sso);
      assertEquals(0, commit.exit(), commit.output() + Vm.tail(vm.serialLog(), 1500));
      assertTrue(commit.output().contains("commit complete"), commit.output());
      // The service principal is HTTP/localhost: curl asks for a ticket for the proxy's host name as it is given.
      List<String> curl = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
          "--max-time", "60", "-x", "http://localhost:" + vm.proxy(), "--proxy-negotiate", "-U", ":", page));
      List<String> withTicket = new ArrayList<>(List.of("env"));
      withTicket.addAll(List.of(kdc.env(kdc.kinit("alice", "alicepw"))));
      withTicket.addAll(curl);
      assertEquals("200", Host.run(withTicket.toArray(String[]::new)).output().strip(), Vm.tail(vm.serialLog(), 1500));
      List<String> without = new ArrayList<>(List.of("env"));
      without.addAll(List.of(kdc.env(DIR.resolve("no-such-cache"))));
      without.addAll(curl);
      assertEquals("407", Host.run(without.toArray(String[]::new)).output().strip());
    } finally {
      kdc.stop();
      Path off = Files.writeString(DIR.resolve("sso-off.txt"), """
          configure
          set proxy auth enabled false
          commit comment authentication off again
          exit
          """);
      Run commit = vm.sshKey(key, off);
      assertEquals(0, commit.exit(), commit.output());
    }
    assertEquals(200, vm.viaProxy(page).statusCode());
  }

  @Test
  void bootsServesKeepsItsConfigOnTheDataDiskAndAsksForThePasswordWithoutASeed() throws Exception {
    // The seed disk (as fleets and tests attach it) and an empty data disk.
    Run gen = Host.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "iso@test", "-f",
        DIR.resolve("key").toString());
    assertEquals(0, gen.exit(), gen.output());
    Path key = DIR.resolve("key");
    Path seedDir = Files.createDirectories(DIR.resolve("seed"));
    Files.writeString(seedDir.resolve("seed.env"), "PORTCULLIS_ADMIN_SSH_KEY=" + Files.readString(
        DIR.resolve("key.pub")).strip() + "\nPORTCULLIS_ADMIN_PASSWORD_HASH=" + PasswordHash.make(
        "iso-secret-1".toCharArray()) + "\nPORTCULLIS_NODE_NAME=iso-node\n");
    Path seed = DIR.resolve("seed.img");
    Path data = DIR.resolve("data.img");
    Run mk = Host.run("mkfs.ext4", "-q", "-L", "portcullis-seed", "-d", seedDir.toString(), seed.toString(), "8M");
    assertEquals(0, mk.exit(), mk.output());
    mk = Host.run("mkfs.ext4", "-q", "-L", "portcullis-data", data.toString(), "64M");
    assertEquals(0, mk.exit(), mk.output());
    String page = "http://10.0.2.2:" + origin.getAddress().getPort() + "/page"; // the host, seen from the guest

    try (Vm vm = Vm.boot("bios", false, seed, data)) {
      double ready = vm.await("health: ready", 420);
      System.out.printf("ISO boot to ready (BIOS, TCG): %.1f s%n", ready);
      HttpResponse<String> r = vm.viaProxy(page);
      assertEquals(200, r.statusCode());
      assertEquals(Host.PAGE, r.body());
      // The balancer runs on the default config too: its web frontend before the local proxy, icap before ICAP.
      HttpResponse<String> viaBalancer = vm.viaProxy(vm.web(), page);
      assertEquals(200, viaBalancer.statusCode(), viaBalancer.body());
      assertEquals(Host.PAGE, viaBalancer.body());
      assertEquals("ICAP/1.0 200 OK", vm.icapOptionsViaBalancer());
      Run status = vm.sshKey(key, null, "show status");
      assertEquals(0, status.exit(), status.output() + Vm.tail(vm.serialLog(), 1500));
      assertTrue(status.output().contains("iso-node"), status.output());
      List<String> pw = new ArrayList<>(List.of("sshpass", "-p", "iso-secret-1"));
      pw.addAll(vm.ssh("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
          "admin@127.0.0.1", "show status"));
      Run byPassword = Host.run(pw.toArray(String[]::new));
      assertEquals(0, byPassword.exit(), byPassword.output() + Vm.tail(vm.serialLog(), 1500));
      assertTrue(vm.statusOnSecondAddress(page) != 200, "no second address yet");
      Path script = DIR.resolve("commit.txt");
      Files.writeString(script, """
          configure
          set rules access no-blocked when hosts "*.blocked.test"
          set rules access no-blocked action block
          set network hostname edge-1
          set network interfaces ens3 addresses 10.0.2.15/24 10.0.2.16/24
          set network interfaces ens3 gateway 10.0.2.2
          set network dns 10.0.2.3
          commit comment over ssh on the appliance
          exit
          """);
      Run commit = vm.sshKey(key, script);
      assertEquals(0, commit.exit(), commit.output() + Vm.tail(vm.serialLog(), 1500));
      assertTrue(commit.output().contains("commit complete"), commit.output());
      HttpResponse<String> blocked = vm.viaProxy("http://www.blocked.test/");
      assertEquals(403, blocked.statusCode());
      assertTrue(blocked.body().contains("Access to this page is denied"), blocked.body());
      assertEquals(403, vm.viaProxy(vm.web(), "http://www.blocked.test/").statusCode(), "blocked via the balancer");
      int second = -1;
      for (int i = 0; i < 60 && second != 200; i++) { // the root helper applies the static addresses
        second = vm.statusOnSecondAddress(page);
        Thread.sleep(second == 200 ? 0 : 1000);
      }
      assertEquals(200, second, "the static second address committed over SSH serves: " + vm.serialLog());
      kerberosSetUpOverSsh(vm, key, page);
    }

    try (Vm vm = Vm.boot("uefi", true, null, data)) {
      double ready = vm.await("health: ready", 420);
      System.out.printf("ISO boot to ready (UEFI, TCG): %.1f s%n", ready);
      assertEquals(403, vm.viaProxy("http://www.blocked.test/").statusCode(), "the rule survived the reboot");
      Run status = vm.sshKey(key, null, "show status");
      assertEquals(0, status.exit(), status.output() + Vm.tail(vm.serialLog(), 1500));
      assertFalse(vm.serialLog().contains("No console user yet"), "the admin is on the data disk");
      assertEquals(200, vm.statusOnSecondAddress(page), "the network settings came back from the data disk");
      assertTrue(vm.serialLog().contains("Portcullis edge-1"), "the host name too: " + vm.serialLog());
    }

    // No seed and no data disk, but an empty disk: the console offers it as the data disk, the admin says yes, then
    // sets the password; both end up on that disk.
    Path blank = DIR.resolve("blank.img");
    Run mkBlank = Host.run("truncate", "-s", "64M", blank.toString());
    assertEquals(0, mkBlank.exit(), mkBlank.output());
    try (Vm vm = Vm.boot("bare", false, null, blank)) {
      vm.await("Format /dev/vda as the data disk? [y/N]", 420);
      assertTrue(vm.serialLog().contains("configuration changes are lost on reboot"), vm.serialLog());
      vm.type("y\r");
      vm.await("data disk /dev/vda attached", 120);
      vm.await("No console user yet: set the admin password", 300);
      vm.await("New password for admin", 300); // the console's own prompt, once its JVM is up
      vm.type("bare-secret-1\r");
      vm.await("Again:", 60);
      vm.type("bare-secret-1\r");
      vm.await("admin password set", 120);
    }
    Run label = Host.run("blkid", "-o", "value", "-s", "LABEL", blank.toString());
    assertEquals("portcullis-data", label.output().strip(), "the empty disk was formatted as the data disk");
    Host.run("e2fsck", "-fy", blank.toString()); // replays the journal, which debugfs would not read
    Run yaml = Host.run("debugfs", "-R", "cat /etc/portcullis/portcullis.yaml", blank.toString());
    assertTrue(yaml.output().contains("passwordHash"), "the admin's password is on the data disk: " + yaml.output());
    Run revisions = Host.run("debugfs", "-R", "ls -l /var/lib/portcullis/revisions", blank.toString());
    assertTrue(revisions.output().contains(".yaml"), "the revisions moved onto it: " + revisions.output());
  }
}
