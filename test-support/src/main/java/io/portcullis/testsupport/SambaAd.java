package io.portcullis.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A real Active Directory domain controller for a test: Samba's, provisioned in the test's directory (realm
 * AD.PORTCULLIS.TEST, domain PCAD) and serving LDAP alone on 127.0.0.1:389 (AD's port is not configurable: tests
 * using it run as root, as CI does). Users alice, bob and the service account svc-proxy; groups Finance (alice) and
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

  private final Path dir;
  private Process process;

  private SambaAd(Path dir) {
    this.dir = dir;
  }

  /** A domain provisioned in {@code dir} (made), filled and started; stop it with {@link #stop}. */
  public static SambaAd start(Path dir) throws Exception {
    Peers.require("samba-tool", "samba");
    Peers.require("ldapsearch", "ldap-utils");
    Files.createDirectories(dir);
    SambaAd ad = new SambaAd(dir);
    ad.tool("domain", "provision", "--targetdir=" + dir, "--realm=AD.PORTCULLIS.TEST", "--domain=PCAD",
        "--server-role=dc", "--dns-backend=NONE", "--adminpass=Admin-pw-123",
        "--option=pid directory=" + dir + "/run", "--option=lock dir=" + dir + "/lock",
        "--option=state directory=" + dir + "/state", "--option=cache directory=" + dir + "/cache",
        "--option=private dir=" + dir + "/private");
    // LDAP alone, on loopback, simple binds allowed without TLS: the test's peer, nothing else of a DC.
    Path conf = dir.resolve("etc/smb.conf");
    String text = Files.readString(conf).replaceAll("(?m)^\\s*server services = .*$",
        "\tserver services = ldap\n\tldap server require strong auth = no\n\tinterfaces = lo\n"
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
    ad.run();
    return ad;
  }

  /** Starts the DC on its domain as it is (again, after {@link #stop}); returns once LDAP listens. */
  public void run() throws Exception {
    process = new ProcessBuilder("samba", "-i", "-M", "single", "-s", dir.resolve("etc/smb.conf").toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("samba.out").toFile()).start();
    Peers.waitForPort(389, process, dir.resolve("samba.out"));
    // Listening is not answering: the single process may still be setting up. Ready once the root DSE comes back.
    Host.waitUntil("Samba's LDAP answers", java.time.Duration.ofSeconds(60), () -> Host.runIn(dir, "ldapsearch",
        "-x", "-o", "nettimeout=2", "-H", URL, "-s", "base", "-b", "", "(objectClass=*)", "namingContexts")
        .output().contains("namingContexts: " + BASE));
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
    if (!args[0].equals("domain")) {
      cmd.add("--configfile=" + dir.resolve("etc/smb.conf"));
    }
    Host.Run r = Host.runIn(dir, cmd.toArray(String[]::new));
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
    }
  }
}
