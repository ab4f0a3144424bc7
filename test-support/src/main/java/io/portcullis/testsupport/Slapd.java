package io.portcullis.testsupport;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * OpenLDAP's slapd for a test, on a free loopback port, from a plain slapd.conf in the test's directory (mdb, the
 * memberof overlay), filled by ldapadd after it starts (the overlay acts on writes only): people alice and bob,
 * groups finance (alice) and staff (finance, bob), so alice is in staff only through finance. Needs the Debian
 * packages slapd and ldap-utils.
 */
public final class Slapd {
  public static final String BASE = "dc=portcullis,dc=test";
  public static final String PEOPLE = "ou=people," + BASE;
  public static final String GROUPS = "ou=groups," + BASE;
  public static final String ADMIN = "cn=admin," + BASE;
  public static final String ADMIN_PASSWORD = "adminpw";

  private final Path dir;
  private final int port;
  private final int tlsPort; // 0: no TLS
  private Process process;

  private Slapd(Path dir, int port, int tlsPort) {
    this.dir = dir;
    this.port = port;
    this.tlsPort = tlsPort;
  }

  /** The ldaps:// port (a slapd {@link #startWithTls started with TLS}), whose certificate is {@link #certificate}. */
  public int tlsPort() {
    return tlsPort;
  }

  /** The self-signed certificate (DNS name localhost) of a slapd {@link #startWithTls started with TLS}. */
  public Path certificate() {
    return dir.resolve("slapd.crt");
  }

  /**
   * As {@link #start}, with TLS: StartTLS on the plain port, and ldaps on {@link #tlsPort}, both with a self-signed
   * certificate for the name localhost only ({@link #certificate}), so that 127.0.0.1 is a wrong name.
   */
  public static Slapd startWithTls(Path dir) throws Exception {
    return start(dir, true);
  }

  /**
   * Serves {@code certificate} (a chain, the server's first) and {@code key} from now on: copied over its own, then
   * slapd restarted (a slapd {@link #startWithTls started with TLS}).
   */
  public void serve(Path certificate, Path key) throws Exception {
    stop();
    Files.copy(certificate, certificate(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.copy(key, dir.resolve("slapd.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    run();
  }

  /** The URL clients use. */
  public String url() {
    return "ldap://127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** A slapd in {@code dir} (made), started and filled; stop it with {@link #stop}. */
  public static Slapd start(Path dir) throws Exception {
    return start(dir, false);
  }

  private static Slapd start(Path dir, boolean tls) throws Exception {
    Peers.require("slapd", "slapd");
    Peers.require("ldapadd", "ldap-utils");
    Files.createDirectories(dir.resolve("data"));
    Slapd s = new Slapd(dir, Host.freePort(), tls ? Host.freePort() : 0);
    String tlsLines = "";
    if (tls) {
      Peers.selfSigned(dir, "slapd", "localhost");
      tlsLines = "TLSCertificateFile " + dir.resolve("slapd.crt") + "\nTLSCertificateKeyFile "
          + dir.resolve("slapd.key") + "\n";
    }
    Files.writeString(dir.resolve("slapd.conf"), """
        include         /etc/ldap/schema/core.schema
        include         /etc/ldap/schema/cosine.schema
        include         /etc/ldap/schema/inetorgperson.schema
        include         /etc/ldap/schema/nis.schema
        modulepath      /usr/lib/ldap
        moduleload      back_mdb
        moduleload      memberof
        moduleload      refint
        pidfile         %1$s/slapd.pid
        argsfile        %1$s/slapd.args
        %5$s

        database        mdb
        maxsize         16777216
        suffix          "%2$s"
        rootdn          "%3$s"
        rootpw          %4$s
        directory       %1$s/data
        index           objectClass eq
        index           uid,cn eq
        index           member eq

        overlay         memberof
        memberof-group-oc       groupOfNames
        memberof-member-ad      member
        memberof-memberof-ad    memberOf
        memberof-refint         TRUE

        overlay         refint
        refint_attributes member

        access to attrs=userPassword
                by self write
                by anonymous auth
                by * none
        access to *
                by * read
        """.formatted(dir, BASE, ADMIN, ADMIN_PASSWORD, tlsLines));
    Files.writeString(dir.resolve("base.ldif"), """
        dn: %1$s
        objectClass: dcObject
        objectClass: organization
        dc: portcullis
        o: Portcullis Test

        dn: %2$s
        objectClass: organizationalUnit
        ou: people

        dn: %3$s
        objectClass: organizationalUnit
        ou: groups

        dn: uid=alice,%2$s
        objectClass: inetOrgPerson
        uid: alice
        cn: Alice Example
        sn: Example
        userPassword: alicepw

        dn: uid=bob,%2$s
        objectClass: inetOrgPerson
        uid: bob
        cn: Bob Example
        sn: Example
        userPassword: bobpw

        dn: cn=finance,%3$s
        objectClass: groupOfNames
        cn: finance
        member: uid=alice,%2$s

        dn: cn=staff,%3$s
        objectClass: groupOfNames
        cn: staff
        member: cn=finance,%3$s
        member: uid=bob,%2$s
        """.formatted(BASE, PEOPLE, GROUPS), StandardCharsets.UTF_8);
    s.run();
    Host.Run add = Host.runIn(dir, "env", "LDAPNOINIT=1", "ldapadd", "-x", "-H", s.url(), "-D", ADMIN, "-w",
        ADMIN_PASSWORD, "-f", dir.resolve("base.ldif").toString());
    if (add.exit() != 0) {
      s.stop();
      throw new IllegalStateException("ldapadd: " + add.output());
    }
    return s;
  }

  /** Starts slapd on its data as it is (again, after {@link #stop}); returns once it listens. */
  public void run() throws Exception {
    process = new ProcessBuilder("slapd", "-d", "0", "-f", dir.resolve("slapd.conf").toString(), "-h",
        "ldap://127.0.0.1:" + port + "/" + (tlsPort == 0 ? "" : " ldaps://127.0.0.1:" + tlsPort + "/"))
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("slapd.out").toFile()).start();
    Peers.waitForPort(port, process, dir.resolve("slapd.out"));
    if (tlsPort != 0) {
      Peers.waitForPort(tlsPort, process, dir.resolve("slapd.out"));
    }
  }

  /** Stops slapd (its data stays, for {@link #run}). */
  public void stop() {
    if (process != null) {
      Peers.stop(process);
      process = null;
    }
  }
}
