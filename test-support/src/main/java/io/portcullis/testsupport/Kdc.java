package io.portcullis.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An MIT Kerberos KDC for a test: realm PORTCULLIS.TEST in the test's directory (its own kdc.conf and krb5.conf, a
 * free loopback port, nothing in /etc), users alice (alicepw) and bob (bobpw), and the proxy's service principal
 * HTTP/localhost in a keytab. curl asks for HTTP@host-of-its-proxy-URL, so clients use http://localhost:PORT as the
 * proxy. Needs the Debian packages krb5-kdc, krb5-admin-server (kadmin.local) and krb5-user (kinit).
 */
public final class Kdc {
  public static final String REALM = "PORTCULLIS.TEST";
  public static final String SERVICE = "HTTP/localhost@" + REALM;

  private final Path dir;
  private final int port;
  private Process process;

  private Kdc(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** The krb5.conf clients and the proxy use. */
  public Path krb5Conf() {
    return dir.resolve("krb5.conf");
  }

  /** The keytab with HTTP/localhost's key. */
  public Path keytab() {
    return dir.resolve("http.keytab");
  }

  /** A realm in {@code dir} (made), its KDC started; stop it with {@link #stop}. */
  public static Kdc start(Path dir) throws Exception {
    Peers.require("krb5kdc", "krb5-kdc");
    Peers.require("kadmin.local", "krb5-admin-server");
    Peers.require("kinit", "krb5-user");
    Files.createDirectories(dir.resolve("db"));
    Kdc k = new Kdc(dir, Host.freePort());
    Files.writeString(dir.resolve("kdc.conf"), """
        [kdcdefaults]
            kdc_listen = 127.0.0.1:%1$d
            kdc_tcp_listen = 127.0.0.1:%1$d
        [realms]
            %2$s = {
                database_name = %3$s/db/principal
                key_stash_file = %3$s/db/stash
                acl_file = %3$s/kadm5.acl
                kdc_listen = 127.0.0.1:%1$d
                kdc_tcp_listen = 127.0.0.1:%1$d
                max_life = 10h 0m 0s
            }
        [logging]
            kdc = FILE:%3$s/kdc.log
            default = FILE:%3$s/krb5lib.log
        """.formatted(k.port, REALM, dir));
    Files.writeString(k.krb5Conf(), clientConf(REALM, k.port));
    Files.writeString(dir.resolve("kadm5.acl"), "");
    k.admin("kdb5_util", "create", "-s", "-P", "masterpw", "-r", REALM, "-d", dir.resolve("db/principal").toString());
    k.admin("kadmin.local", "-r", REALM, "-q", "addprinc -pw alicepw alice");
    k.admin("kadmin.local", "-r", REALM, "-q", "addprinc -pw bobpw bob");
    k.admin("kadmin.local", "-r", REALM, "-q", "addprinc -randkey HTTP/localhost");
    // Once: each ktadd gives the principal a new key, and an older keytab goes stale.
    k.admin("kadmin.local", "-r", REALM, "-q", "ktadd -k " + k.keytab() + " HTTP/localhost");
    k.run();
    return k;
  }

  /** Starts the KDC on its realm as it is (again, after {@link #stop}); returns once it listens. */
  public void run() throws Exception {
    process = new ProcessBuilder("env", "KRB5_CONFIG=" + krb5Conf(), "KRB5_KDC_PROFILE=" + dir.resolve("kdc.conf"),
        "krb5kdc", "-n").redirectErrorStream(true).redirectOutput(dir.resolve("krb5kdc.out").toFile()).start();
    Peers.waitForPort(port, process, dir.resolve("kdc.log"));
  }

  private void admin(String... cmd) throws Exception {
    String[] all = new String[cmd.length + 3];
    all[0] = "env";
    all[1] = "KRB5_CONFIG=" + krb5Conf();
    all[2] = "KRB5_KDC_PROFILE=" + dir.resolve("kdc.conf");
    System.arraycopy(cmd, 0, all, 3, cmd.length);
    Host.Run r = Host.runIn(dir, all);
    if (r.exit() != 0) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
    }
  }

  /** A ticket cache for {@code user} (kinit with {@code password}); its path, for KRB5CCNAME. */
  public Path kinit(String user, String password) throws Exception {
    return kinit(dir, krb5Conf(), user, password);
  }

  /**
   * A krb5.conf for clients (and a keytab's acceptor) of {@code realm}, its KDC on 127.0.0.1:{@code port}: no DNS,
   * the name localhost in the realm (the proxy's service principal is HTTP/localhost), TCP only.
   */
  static String clientConf(String realm, int port) {
    return """
        [libdefaults]
            default_realm = %2$s
            dns_lookup_kdc = false
            dns_lookup_realm = false
            dns_canonicalize_hostname = false
            rdns = false
            udp_preference_limit = 1
            ticket_lifetime = 1h
        [realms]
            %2$s = {
                kdc = 127.0.0.1:%1$d
            }
        [domain_realm]
            localhost = %2$s
        """.formatted(port, realm);
  }

  /** kinit as {@code user} of the realm {@code krb5Conf} names, into dir/USER.cc; the cache's path. */
  static Path kinit(Path dir, Path krb5Conf, String user, String password) throws Exception {
    Path cache = dir.resolve(user + ".cc");
    Path pw = Files.writeString(dir.resolve(user + ".pw"), password + "\n");
    Host.Run r = Host.runWithInput(pw, "env", "KRB5_CONFIG=" + krb5Conf, "KRB5CCNAME=FILE:" + cache, "kinit", user);
    if (r.exit() != 0) {
      throw new IllegalStateException("kinit " + user + ": " + r.output());
    }
    return cache;
  }

  /** The environment words (for env) a Kerberos client needs with {@code cache}. */
  public String[] env(Path cache) {
    return new String[] {"KRB5_CONFIG=" + krb5Conf(), "KRB5CCNAME=FILE:" + cache};
  }

  /** Stops the KDC (its realm stays, for {@link #run}). */
  public void stop() {
    if (process != null) {
      Peers.stop(process);
      process = null;
    }
  }
}
