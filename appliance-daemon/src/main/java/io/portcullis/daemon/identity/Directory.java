package io.portcullis.daemon.identity;

import com.unboundid.ldap.sdk.BindResult;
import com.unboundid.ldap.sdk.FailoverServerSet;
import com.unboundid.ldap.sdk.Filter;
import com.unboundid.ldap.sdk.LDAPConnectionOptions;
import com.unboundid.ldap.sdk.LDAPConnectionPool;
import com.unboundid.ldap.sdk.LDAPException;
import com.unboundid.ldap.sdk.ResultCode;
import com.unboundid.ldap.sdk.SearchRequest;
import com.unboundid.ldap.sdk.SearchResult;
import com.unboundid.ldap.sdk.SearchResultEntry;
import com.unboundid.ldap.sdk.SearchScope;
import com.unboundid.ldap.sdk.SimpleBindRequest;
import com.unboundid.ldap.sdk.StartTLSPostConnectProcessor;
import io.portcullis.daemon.config.LdapConfig;
import java.net.URI;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.net.SocketFactory;

/**
 * An LDAP directory's users and groups (UnboundID's SDK: a pool of connections bound as proxy.auth.ldap.bindDn,
 * failover across the URLs in order, StartTLS or ldaps with the certificate and host name checked). A user's
 * password is checked by binding as the one entry userFilter finds (never an unauthenticated bind); groups are the
 * cn of the entries groupFilter finds for the user's DN, then for those groups' DNs, nestedDepth levels deep. What
 * a user typed reaches a filter only escaped (RFC 4515). Every call blocks: run it off the event loops.
 */
public final class Directory implements AutoCloseable {
  /**
   * A user the directory knows: its name as the entry spells it (the attribute userFilter matches {user} with, e.g.
   * uid or sAMAccountName; a directory compares names without case or surrounding spaces, the rules with case alone,
   * so what was typed is not the name), the entry's DN, the groups' names.
   */
  public record Found(String name, String dn, List<String> groups) {
  }

  /** The directory cannot be reached (or does not answer in time): not a wrong password. */
  public static final class Down extends Exception {
    Down(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final LdapConfig config;
  private final Path configDir;
  private final LDAPConnectionPool pool;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Directory.class);
  private volatile String downBecause; // null: the last operation reached the directory

  private Directory(LdapConfig config, Path configDir, LDAPConnectionPool pool) {
    this.config = config;
    this.configDir = configDir;
    this.pool = pool;
  }

  /**
   * The directory of {@code c} (its trust file relative to {@code configDir}); connections are made as needed, so a
   * directory down now does not stop the node starting. Throws when the settings themselves cannot work.
   */
  public static Directory of(LdapConfig c, Path configDir) throws GeneralSecurityException {
    List<String> urls = c.urls();
    String[] hosts = new String[urls.size()];
    int[] ports = new int[urls.size()];
    boolean ldaps = false;
    for (int i = 0; i < urls.size(); i++) {
      URI u = URI.create(urls.get(i));
      boolean secure = "ldaps".equalsIgnoreCase(u.getScheme());
      if (i > 0 && secure != ldaps) {
        throw new GeneralSecurityException("proxy.auth.ldap.url: mix ldap:// and ldaps:// URLs is not supported");
      }
      ldaps = secure;
      String host = u.getHost();
      // An IPv6 address comes bracketed from the URI: the bare address, as the certificate's names are checked.
      hosts[i] = host != null && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1)
          : host;
      ports[i] = u.getPort() > 0 ? u.getPort() : secure ? 636 : 389;
    }
    javax.net.ssl.X509ExtendedTrustManager trust;
    try {
      trust = io.portcullis.daemon.tls.PemTrust.of(c.trust() == null ? null : configDir.resolve(c.trust()));
    } catch (java.io.IOException | GeneralSecurityException | RuntimeException e) {
      throw new GeneralSecurityException("proxy.auth.ldap.trust: " + e.getMessage(), e);
    }
    javax.net.ssl.SSLSocketFactory tls = NameCheckingSockets.of(trust);
    LDAPConnectionOptions options = new LDAPConnectionOptions();
    options.setConnectTimeoutMillis((int) c.timeout().toMillis());
    options.setResponseTimeoutMillis(c.timeout().toMillis());
    options.setUseSynchronousMode(true);
    SocketFactory sockets = ldaps ? tls : SocketFactory.getDefault();
    FailoverServerSet servers = new FailoverServerSet(hosts, ports, sockets, options);
    StartTLSPostConnectProcessor startTls = c.startTls() && !ldaps
        ? new StartTLSPostConnectProcessor(tls) : null;
    SimpleBindRequest bind = c.bindDn() == null ? null : new SimpleBindRequest(c.bindDn(), c.bindPassword());
    try {
      // No connection at first (throwOnConnectFailure false): one is made at the first login.
      LDAPConnectionPool pool = new LDAPConnectionPool(servers, bind, 0, c.maxConnections(), 1, startTls, false);
      pool.setRetryFailedOperationsDueToInvalidConnections(true);
      pool.setMaxWaitTimeMillis(c.timeout().toMillis());
      return new Directory(c, configDir, pool);
    } catch (LDAPException e) {
      throw new GeneralSecurityException("proxy.auth.ldap: " + e.getMessage(), e);
    }
  }

  /**
   * The directory for {@code c}: one kept while its settings are the same (its pooled connections kept across
   * commits), else a new one. The last few are kept open, not only the newest: a commit that fails after its settings
   * were prepared leaves the proxy on the earlier ones, which must still work. One pushed out is closed a minute
   * later, when logins begun on it are over.
   */
  public static synchronized Directory shared(LdapConfig c, Path configDir) throws GeneralSecurityException {
    String key = c + "\n" + configDir;
    Directory d = KEPT.get(key);
    if (d == null) {
      d = of(c, configDir);
      KEPT.put(key, d);
    }
    return d;
  }

  /** The directories kept open, least recently asked for first (guarded by Directory.class). */
  private static final Map<String, Directory> KEPT = new LinkedHashMap<>(8, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Directory> eldest) {
      if (size() <= 4) {
        return false;
      }
      Directory old = eldest.getValue();
      Thread t = new Thread(() -> {
        try {
          Thread.sleep(60_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        old.close();
      }, "portcullis-directory-close");
      t.setDaemon(true);
      t.start();
      return true;
    }
  };

  public LdapConfig config() {
    return config;
  }

  /** Reaches the directory (a base-scope read of userBase); throws when it cannot. */
  public void probe() throws Down {
    try {
      pool.search(new SearchRequest(config.userBase(), SearchScope.BASE, Filter.createPresenceFilter("objectClass"),
          "1.1"));
      reached();
    } catch (LDAPException e) {
      if (e.getResultCode() == ResultCode.NO_SUCH_OBJECT) {
        reached();
        return;
      }
      throw down(e);
    }
  }

  /** Why the last operation could not reach the directory, or null when it did. */
  public String downBecause() {
    return downBecause;
  }

  /** The user {@code name} with {@code password}, or null when the name is unknown or the password wrong. */
  public Found authenticate(String name, String password) throws Down {
    if (password.isEmpty() || name.isEmpty()) {
      return null; // an empty password would be an unauthenticated bind, which succeeds: never
    }
    Entry user = entry(name);
    if (user == null) {
      return null;
    }
    String dn = user.dn();
    try {
      BindResult r = pool.bindAndRevertAuthentication(new SimpleBindRequest(dn, password));
      reached();
      if (r.getResultCode() != ResultCode.SUCCESS) {
        return null;
      }
    } catch (LDAPException e) {
      if (e.getResultCode() == ResultCode.INVALID_CREDENTIALS) {
        reached();
        return null;
      }
      throw down(e);
    }
    return new Found(user.name(), dn, groups(user.name(), dn));
  }

  /** An entry userFilter found: its DN and the user's name as it spells it. */
  public record Entry(String dn, String name) {
  }

  /** The attribute userFilter matches the name with ({@code uid} of (uid={user})), or null. */
  private String nameAttribute() {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("([A-Za-z][A-Za-z0-9-]*)=\\{user}")
        .matcher(config.userFilter());
    return m.find() ? m.group(1) : null;
  }

  /** The DN of the one entry userFilter finds for {@code name}, or null (none, or more than one). */
  public String find(String name) throws Down {
    Entry e = entry(name);
    return e == null ? null : e.dn();
  }

  /** The one entry userFilter finds for {@code name}, with the name as it spells it, or null. */
  public Entry entry(String name) throws Down {
    try {
      Filter f = Filter.create(config.userFilter().replace("{user}", Filter.encodeValue(name)));
      String attr = nameAttribute();
      SearchRequest s = new SearchRequest(config.userBase(), SearchScope.SUB, f, attr == null ? "1.1" : attr);
      s.setSizeLimit(2);
      SearchResult r = pool.search(s);
      reached();
      if (r.getEntryCount() != 1) {
        return null;
      }
      SearchResultEntry e = r.getSearchEntries().get(0);
      String spelled = attr == null ? null : e.getAttributeValue(attr);
      return new Entry(e.getDN(), spelled == null ? name : spelled);
    } catch (LDAPException e) {
      if (e.getResultCode() == ResultCode.SIZE_LIMIT_EXCEEDED || e.getResultCode() == ResultCode.NO_SUCH_OBJECT) {
        reached();
        return null; // two entries match: no one is logged in as either
      }
      throw down(e);
    }
  }

  /** The names of the groups {@code dn} is in, directly and through groups, as deep as nestedDepth. */
  public List<String> groups(String name, String dn) throws Down {
    if (config.groupBase().isBlank()) {
      return List.of();
    }
    Set<String> names = new LinkedHashSet<>();
    Set<String> seen = new HashSet<>();
    Deque<String> level = new ArrayDeque<>(List.of(dn));
    seen.add(dn.toLowerCase(java.util.Locale.ROOT));
    for (int depth = 0; !level.isEmpty() && depth <= config.nestedDepth(); depth++) {
      Deque<String> next = new ArrayDeque<>();
      for (String member : level) {
        for (SearchResultEntry g : groupsOf(name, member)) {
          String cn = g.getAttributeValue("cn");
          if (cn != null) {
            names.add(cn);
          }
          if (seen.add(g.getDN().toLowerCase(java.util.Locale.ROOT))) {
            next.add(g.getDN());
          }
        }
      }
      if (!config.groupFilter().contains("{dn}")) {
        break; // a filter by user name alone has no groups of groups to follow
      }
      level = next;
    }
    return List.copyOf(names);
  }

  private List<SearchResultEntry> groupsOf(String name, String dn) throws Down {
    try {
      Filter f = Filter.create(config.groupFilter().replace("{dn}", Filter.encodeValue(dn))
          .replace("{user}", Filter.encodeValue(name)));
      SearchResult r = pool.search(new SearchRequest(config.groupBase(), SearchScope.SUB, f, "cn"));
      reached();
      return new ArrayList<>(r.getSearchEntries());
    } catch (LDAPException e) {
      if (e.getResultCode() == ResultCode.NO_SUCH_OBJECT) {
        reached();
        return List.of();
      }
      throw down(e);
    }
  }

  private void reached() {
    String was;
    synchronized (this) {
      was = downBecause;
      downBecause = null;
    }
    if (was != null) {
      LOG.info("proxy.auth.ldap: the directory ({}) answers again", config.url());
    }
  }

  private Down down(LDAPException e) {
    // A connect error has no diagnostic from the server: the exception says why (refused, a certificate's name).
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String why = e.getResultCode() + ": " + (e.getDiagnosticMessage() != null ? e.getDiagnosticMessage()
        : root.getMessage() != null ? root.getMessage() : e.getMessage());
    String was;
    synchronized (this) {
      was = downBecause;
      downBecause = why;
    }
    if (was == null) {
      // Once as it goes down, not per login: every login refused meanwhile is a traffic event of its own.
      LOG.warn("proxy.auth.ldap: the directory ({}) cannot be used: {}", config.url(), why);
    }
    return new Down("the directory (" + config.url() + ") cannot be used: " + why, e);
  }

  @Override
  public void close() {
    pool.close();
  }
}
