package io.portcullis.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real Active Directory domain controller for a test: Samba's, provisioned in the test's directory (realm
 * AD.PORTCULLIS.TEST, domain PCAD) and serving LDAP and Kerberos alone on 127.0.0.1:389 and :88 (a DC's ports are
 * not configurable: tests using it run as root, as CI does). The proxy's service principal HTTP/localhost is an SPN
 * of svc-proxy, its keys exported to {@link #keytab()}, as {@code ktpass} would on Windows. Users alice, bob and the service account svc-proxy; groups Finance (alice) and
 * Staff (Finance, bob), so alice is in Staff only through Finance. Simple binds over plain LDAP are allowed, as a
 * lab's DC may; production DCs want ldaps or StartTLS. Needs the Debian package samba.
 */
public final class SambaAd {
  public static final String BASE = "DC=ad,DC=portcullis,DC=test";
  public static final String USERS = "CN=Users," + BASE;
  public static final String SERVICE_DN = "CN=svc-proxy," + USERS;
  public static final String SERVICE_PASSWORD = "Svc-proxy-pw-1";
  public static final String ALICE_PASSWORD = "Alice-pw-123";
  public static final String BOB_PASSWORD = "Bob-pw-12345";
  public static final String URL = "ldap://127.0.0.1:389";
  static final String ADMIN_PASSWORD = "Admin-pw-123";
  public static final String REALM = "AD.PORTCULLIS.TEST";
  public static final String SERVICE = "HTTP/localhost@" + REALM;

  private final Path dir;
  private Process process;

  private SambaAd(Path dir) {
    this.dir = dir;
  }

  /** A domain provisioned in {@code dir} (made), filled and started; stop it with {@link #stop}. */
  public static SambaAd start(Path dir) throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      throw new AssertionError("Samba's DC listens on 127.0.0.1:389 and :88: tests with it run as root (.ci/run)");
    }
    Peers.require("samba-tool", "samba");
    Peers.require("ldapsearch", "ldap-utils");
    Files.createDirectories(dir);
    SambaAd ad = new SambaAd(dir);
    ad.tool("domain", "provision", "--targetdir=" + dir, "--realm=AD.PORTCULLIS.TEST", "--domain=PCAD",
        "--server-role=dc", "--dns-backend=NONE", "--adminpass=" + ADMIN_PASSWORD,
        "--option=pid directory=" + dir + "/run", "--option=lock dir=" + dir + "/lock",
        "--option=state directory=" + dir + "/state", "--option=cache directory=" + dir + "/cache",
        "--option=private dir=" + dir + "/private");
    // LDAP alone, on loopback, simple binds allowed without TLS: the test's peer, nothing else of a DC.
    Path conf = dir.resolve("etc/smb.conf");
    String text = Files.readString(conf).replaceAll("(?m)^\\s*server services = .*$",
        "\tserver services = ldap, kdc\n\tldap server require strong auth = no\n\tinterfaces = lo\n"
            + "\tbind interfaces only = yes\n\ttls enabled = no")
        .replaceAll("(?m)^\\s*log file = .*$", "\tlog file = " + dir + "/log.%m");
    Files.writeString(conf, text);
    ad.tool("user", "add", "svc-proxy", SERVICE_PASSWORD);
    ad.tool("user", "add", "alice", ALICE_PASSWORD);
    ad.tool("user", "add", "bob", BOB_PASSWORD);
    ad.tool("group", "add", "Finance");
    ad.tool("group", "add", "Staff");
    ad.tool("group", "addmembers", "Finance", "alice");
    ad.tool("group", "addmembers", "Staff", "Finance,bob");
    ad.tool("spn", "add", "HTTP/localhost", "svc-proxy");
    Files.writeString(ad.krb5Conf(), Kdc.clientConf(REALM, 88));
    ad.run();
    try {
      ad.fill();
    } catch (Exception | AssertionError e) {
      ad.stop(); // its ports are fixed: a DC left behind would answer the next run's tests
      throw e;
    }
    return ad;
  }

  /** What needs the DC running: the keytabs (RC4-era, then AES). */
  private void fill() throws Exception {
    SambaAd ad = this;
    // The keytab as exported before the account was marked for AES (RC4 alone): stale once it is.
    ad.tool("domain", "exportkeytab", dir.resolve("http-rc4.keytab").toString(), "--principal=HTTP/localhost");
    // AES, as an admin ticks "This account supports Kerberos AES 256 bit encryption": without it the DC issues RC4
    // tickets for the account, which the JDK refuses. The keytab then holds the AES keys.
    Path mod = Files.writeString(dir.resolve("aes.ldif"), "dn: " + SERVICE_DN + "\nchangetype: modify\n"
        + "replace: msDS-SupportedEncryptionTypes\nmsDS-SupportedEncryptionTypes: 24\n");
    Host.Run aes = Host.runWithInput(mod, "ldapmodify", "-x", "-H", URL, "-D", "CN=Administrator," + USERS, "-w",
        ADMIN_PASSWORD);
    if (aes.exit() != 0) {
      throw new IllegalStateException("ldapmodify: " + aes.output());
    }
    ad.tool("domain", "exportkeytab", ad.keytab().toString(), "--principal=HTTP/localhost");
  }

  /** Starts the DC on its domain as it is (again, after {@link #stop}); returns once LDAP listens. */
  public void run() throws Exception {
    for (int port : new int[] {389, 88}) {
      try (java.net.Socket taken = new java.net.Socket("127.0.0.1", port)) {
        throw new IllegalStateException("127.0.0.1:" + port + " is taken (a DC left running?): a test's DC needs it");
      } catch (java.io.IOException free) {
        // nothing listens: ours may
      }
    }
    process = new ProcessBuilder("samba", "-i", "-M", "single", "-s", dir.resolve("etc/smb.conf").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("samba.out").toFile()).start();
    try {
      Peers.waitForPort(389, process, dir.resolve("samba.out"));
      Peers.waitForPort(88, process, dir.resolve("samba.out"));
      // Listening is not answering: the single process may still be setting up. Ready once the root DSE is back.
      Host.waitUntil("Samba's LDAP answers", java.time.Duration.ofSeconds(60), () -> Host.runIn(dir, "ldapsearch",
          "-x", "-o", "nettimeout=2", "-H", URL, "-s", "base", "-b", "", "(objectClass=*)", "namingContexts")
          .output().contains("namingContexts: " + BASE));
      if (!process.isAlive()) {
        throw new IllegalStateException("samba exited: " + Peers.read(dir.resolve("samba.out")));
      }
    } catch (Exception | AssertionError e) {
      stop();
      throw e;
    }
  }

  /** The keytab of the proxy's service principal {@link #SERVICE}. */
  public Path keytab() {
    return dir.resolve("http.keytab");
  }

  /** The proxy's keytab as exported before its account was marked for AES: no key for the tickets issued now. */
  public Path rc4Keytab() {
    return dir.resolve("http-rc4.keytab");
  }

  /** A krb5.conf for the domain's KDC on 127.0.0.1:88. */
  public Path krb5Conf() {
    return dir.resolve("krb5.conf");
  }

  /** A ticket cache for {@code user} of the domain (kinit with {@code password}); the env words a client needs. */
  public String[] kinit(String user, String password) throws Exception {
    Path cache = Kdc.kinit(dir, krb5Conf(), user, password);
    return new String[] {"KRB5_CONFIG=" + krb5Conf(), "KRB5CCNAME=FILE:" + cache};
  }

  /** Stops the DC (its domain stays, for {@link #run}). */
  public void stop() {
    if (process != null) {
      Peers.stop(process);
      process = null;
    }
  }

  private void tool(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("samba-tool"));
    cmd.addAll(List.of(args));
    if (!args[1].equals("provision")) {
      cmd.add("--configfile=" + dir.resolve("etc/smb.conf"));
    }
    Host.Run r = Host.runIn(dir, cmd.toArray(String[]::new));
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
    }
  }
}
