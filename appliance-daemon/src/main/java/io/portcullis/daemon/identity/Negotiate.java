package io.portcullis.daemon.identity;

import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSException;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.Oid;

/**
 * Kerberos single sign-on for the proxy (SPNEGO, RFC 4559: {@code Proxy-Authorization: Negotiate TOKEN}) with the
 * JDK's GSS-API and a keytab, no helper process: a domain PC's browser sends a service ticket for HTTP/proxy-name,
 * accepted here without asking the KDC. The keytab is read at login (a programmatic JAAS configuration, no file);
 * the krb5.conf, when the config names one, becomes the JVM's (java.security.krb5.conf, re-read at each login).
 * {@link #accept} blocks (crypto and a replay cache): run it off the event loops.
 */
public final class Negotiate {
  private static final Oid SPNEGO = oid("1.3.6.1.5.5.2");
  private static final Oid KERBEROS = oid("1.2.840.113554.1.2.2");
  /** The largest token read: a Kerberos ticket with a large PAC (many groups in AD) stays well below. */
  public static final int MAX_TOKEN = 48 * 1024;

  /**
   * What a token proved: the client's principal ({@code alice@REALM}), the realm of the service it was for, and a
   * token to send back, or null.
   */
  public record Accepted(String principal, String serviceRealm, byte[] reply) {
  }

  private final Subject service;
  private final GSSCredential credential;
  private final String keytab;
  private final String principal;

  private Negotiate(Subject service, GSSCredential credential, String keytab, String principal) {
    this.service = service;
    this.credential = credential;
    this.keytab = keytab;
    this.principal = principal;
  }

  private static Oid oid(String s) {
    try {
      return new Oid(s);
    } catch (GSSException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The acceptor for {@code principal} (null or "*": any principal the keytab holds) with the keys of
   * {@code keytab}, under {@code krb5Conf} (null: the JDK's own search, /etc/krb5.conf). Throws when the keytab
   * cannot be used.
   */
  public static synchronized Negotiate of(Path keytab, String principal, Path krb5Conf) throws LoginException {
    if (krb5Conf != null) {
      System.setProperty("java.security.krb5.conf", krb5Conf.toString());
    }
    String who = principal == null || principal.isBlank() ? "*" : principal;
    Configuration jaas = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        Map<String, String> o = new HashMap<>();
        o.put("useKeyTab", "true");
        o.put("keyTab", keytab.toString());
        o.put("principal", who);
        o.put("storeKey", "true");
        o.put("isInitiator", "false"); // an acceptor: the KDC is not asked at login
        o.put("doNotPrompt", "true");
        o.put("refreshKrb5Config", "true");
        return new AppConfigurationEntry[] {new AppConfigurationEntry("com.sun.security.auth.module.Krb5LoginModule",
            AppConfigurationEntry.LoginModuleControlFlag.REQUIRED, o)};
      }
    };
    LoginContext login = new LoginContext("portcullis-negotiate", new Subject(), null, jaas);
    login.login();
    Subject service = login.getSubject();
    try {
      GSSCredential cred = Subject.doAs(service, (PrivilegedExceptionAction<GSSCredential>) () ->
          GSSManager.getInstance().createCredential(null, GSSCredential.INDEFINITE_LIFETIME,
              new Oid[] {SPNEGO, KERBEROS}, GSSCredential.ACCEPT_ONLY));
      return new Negotiate(service, cred, keytab.toString(), who);
    } catch (java.security.PrivilegedActionException e) {
      LoginException le = new LoginException("the keytab " + keytab + " cannot accept tickets: "
          + e.getCause().getMessage());
      le.initCause(e.getCause());
      throw le;
    }
  }

  private static Negotiate current; // guarded by Negotiate.class: kept while its settings hold
  private static String currentKey;

  /** The acceptor for these settings: the one in use while they are the same (no new login per commit). */
  public static synchronized Negotiate shared(Path keytab, String principal, Path krb5Conf) throws LoginException {
    String key = keytab + "\n" + principal + "\n" + krb5Conf;
    if (current == null || !key.equals(currentKey)) {
      current = of(keytab, principal, krb5Conf);
      currentKey = key;
    }
    return current;
  }

  /**
   * What to fix on the node when a ticket was refused for its setup rather than for the client (an RC4 ticket, a
   * keytab without the ticket's key), or null: every client of the domain is refused until it is fixed.
   */
  public static String setupProblem(Throwable refused) {
    for (Throwable t = refused; t != null; t = t.getCause()) {
      String m = String.valueOf(t.getMessage());
      if (m.contains("RC4") || m.contains("Encryption type") && m.contains("not supported")) {
        return "the ticket is RC4-encrypted, which the JDK refuses: mark the service account for AES "
            + "(msDS-SupportedEncryptionTypes 24, \"supports Kerberos AES 256 bit encryption\") and export its keytab "
            + "again (ktpass -crypto AES256-SHA1)";
      }
      if (m.contains("Cannot find key") || m.contains("Specified version of key is not available")) {
        return "the keytab has no key for the ticket (" + m + "): a stale keytab (the account's password or key "
            + "version changed) or another account's; export it again";
      }
    }
    return null;
  }

  /** True when this acceptor was made from {@code keytab} for {@code principal}. */
  public boolean sameAs(Path keytab, String principal) {
    return this.keytab.equals(keytab.toString())
        && this.principal.equals(principal == null || principal.isBlank() ? "*" : principal);
  }

  /**
   * The principal a client's token proves, or null when it proves none yet (a further leg would be needed, which
   * Kerberos through SPNEGO does not use). Throws when the token is bad: garbage, a replay, a ticket for another
   * service, expired.
   */
  public Accepted accept(byte[] token) throws GSSException {
    try {
      return Subject.doAs(service, (PrivilegedExceptionAction<Accepted>) () -> {
        GSSContext ctx = GSSManager.getInstance().createContext(credential);
        try {
          byte[] reply = ctx.acceptSecContext(token, 0, token.length);
          if (!ctx.isEstablished()) {
            return null;
          }
          String service = ctx.getTargName().toString();
          int at = service.lastIndexOf('@');
          return new Accepted(ctx.getSrcName().toString(), at < 0 ? null : service.substring(at + 1), reply);
        } finally {
          ctx.dispose();
        }
      });
    } catch (java.security.PrivilegedActionException e) {
      if (e.getCause() instanceof GSSException g) {
        throw g;
      }
      throw new GSSException(GSSException.FAILURE, -1, String.valueOf(e.getCause()));
    }
  }

  /**
   * The user name rules and logs see: the principal without its realm ({@code alice} of alice@REALM) when that is the
   * proxy's own realm ({@code serviceRealm}), else whole: a user of a trusted realm (bob@PARTNER) is not this
   * realm's bob.
   */
  public static String userName(String principal, boolean stripRealm, String serviceRealm) {
    int at = principal.lastIndexOf('@');
    boolean own = at > 0 && principal.substring(at + 1).equals(serviceRealm);
    return stripRealm && own ? principal.substring(0, at) : principal;
  }
}
