package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.ProxyConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.commons.codec.digest.Md5Crypt;
import org.apache.commons.codec.digest.Sha2Crypt;

/**
 * Basic proxy authentication (RFC 7617): {@code Proxy-Authorization: Basic base64(name:password)} checked against
 * crypt hashes from the config and an htpasswd file, and, for other names, against an LDAP directory (a bind as the
 * user; groups from it, searched again after proxy.auth.ldap.groupsTtl in the background). Checking a hash costs
 * milliseconds (thousands of rounds, on purpose), a bind a round trip, so a header checked once is remembered for
 * {@code cacheTtl}; {@link #check} runs off the event loop. Immutable but for the cache; one per settings, so a
 * commit that changes a password forgets the old one.
 */
public final class BasicAuth {
  /** An authenticated user. */
  public record User(String name, List<String> groups) {
  }

  private record Known(String hash, List<String> groups) {
  }

  /** A header checked: its user, until when, and for a directory's user, its DN and when its groups were read. */
  private record Remembered(User user, long until, String dn, long groupsAt) {
  }

  private static final int MAX_REMEMBERED = 10_000;
  /** How long a wrong header is known to be wrong: a browser repeats one for every resource of a page. */
  private static final long WRONG_NANOS = Duration.ofMinutes(1).toNanos();
  private final Map<String, Known> users;
  private final String dummyHash;
  private final ConcurrentHashMap<String, Long> wrong = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong hashChecks = new java.util.concurrent.atomic.AtomicLong();
  private final String realm;
  private final long ttlNanos;
  private final ConcurrentHashMap<String, Remembered> remembered = new ConcurrentHashMap<>();
  private final io.portcullis.daemon.identity.Directory directory; // null: local users only
  private final long groupsTtlNanos;
  private final Set<String> refreshing = ConcurrentHashMap.newKeySet();
  private final io.portcullis.daemon.identity.Negotiate negotiate; // null: no Kerberos
  private final boolean stripRealm;
  /** Principals proven by Negotiate: their user (groups included), until groups are due again. */
  private final ConcurrentHashMap<String, Remembered> negotiated = new ConcurrentHashMap<>();

  private BasicAuth(Map<String, Known> users, String realm, Duration ttl,
      io.portcullis.daemon.identity.Directory directory, io.portcullis.daemon.identity.Negotiate negotiate,
      boolean stripRealm) {
    this.users = users;
    this.directory = directory;
    this.negotiate = negotiate;
    this.stripRealm = stripRealm;
    this.groupsTtlNanos = directory == null ? Long.MAX_VALUE : directory.config().groupsTtl().toNanos();
    // An unknown name costs the same hash check as a known one, so the answer's time does not tell names apart.
    this.dummyHash = dummyFor(users.values().stream().map(Known::hash).toList());
    this.realm = realm;
    this.ttlNanos = ttl.toNanos();
  }

  /**
   * The users of {@code c} (the config's list, then the htpasswd file's, then its directory's); null if
   * authentication is off.
   */
  static BasicAuth of(ProxyConfig.ProxyAuth c, Path baseDir) {
    if (!c.enabled()) {
      return null;
    }
    io.portcullis.daemon.identity.Negotiate negotiate = null;
    if (c.negotiate().enabled()) {
      try {
        negotiate = io.portcullis.daemon.identity.Negotiate.shared(baseDir.resolve(c.negotiate().keytab()),
            c.negotiate().principal(), c.negotiate().krb5Conf() == null ? null
                : baseDir.resolve(c.negotiate().krb5Conf()));
      } catch (javax.security.auth.login.LoginException e) {
        throw new IllegalStateException("proxy.auth.negotiate: " + e.getMessage(), e);
      }
    }
    io.portcullis.daemon.identity.Directory directory = null;
    if (c.ldap().enabled()) {
      try {
        directory = io.portcullis.daemon.identity.Directory.shared(c.ldap(), baseDir);
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException("proxy.auth.ldap: " + e.getMessage(), e);
      }
    }
    Map<String, Known> users = new HashMap<>();
    if (c.htpasswd() != null) {
      Path file = baseDir.resolve(c.htpasswd());
      try {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String l = line.strip();
          int colon = l.indexOf(':');
          if (l.isEmpty() || l.startsWith("#") || colon <= 0) {
            continue;
          }
          String hash = l.substring(colon + 1);
          if (ProxyConfig.ProxyUser.supportedHash(hash)) {
            users.put(l.substring(0, colon), new Known(hash, List.of()));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read proxy.auth.htpasswd " + file + ": " + e.getMessage(), e);
      }
    }
    for (ProxyConfig.ProxyUser u : c.users()) {
      users.put(u.name(), new Known(u.password(), List.copyOf(u.groups())));
    }
    return new BasicAuth(Map.copyOf(users), c.realm(), c.cacheTtl(), directory, negotiate,
        c.negotiate().stripRealm());
  }

  /**
   * The hash an unknown name is checked against: one of the kind (scheme and rounds) most users have, so that an
   * unknown name costs what most known ones do; of those kinds, the dearest on a tie.
   */
  static String dummyFor(List<String> hashes) {
    Map<String, Integer> counts = new HashMap<>();
    Map<String, String> sample = new HashMap<>();
    for (String h : hashes) {
      String kind = kind(h);
      counts.merge(kind, 1, Integer::sum);
      sample.putIfAbsent(kind, h);
    }
    return counts.keySet().stream()
        .max(java.util.Comparator.<String>comparingInt(counts::get).thenComparingLong(BasicAuth::rounds)
            .thenComparing(java.util.Comparator.naturalOrder()))
        .map(sample::get).orElse("$6$x$");
  }

  /** A hash's scheme and rounds ({@code $6$rounds=10000}); what its check costs. */
  private static String kind(String hash) {
    if (hash.startsWith("$apr1$")) {
      return "$apr1$";
    }
    String scheme = hash.substring(0, 3);
    return hash.startsWith("rounds=", 3) ? scheme + hash.substring(3, Math.max(3, hash.indexOf('$', 3))) : scheme;
  }

  /** Rough cost of a kind's check: its rounds (SHA-crypt's default 5000; apr1's 1000 MD5 steps are cheaper). */
  private static long rounds(String kind) {
    if (kind.equals("$apr1$")) {
      return 1000;
    }
    int eq = kind.indexOf('=');
    try {
      return eq < 0 ? 5000 : Long.parseLong(kind.substring(eq + 1));
    } catch (NumberFormatException e) {
      return 5000;
    }
  }

  /** Hash checks made (each costs what a known user's does, whether or not the name is known). */
  long hashChecks() {
    return hashChecks.get();
  }

  /** The value of the 407's {@code Proxy-Authenticate} for Basic. */
  public String challenge() {
    return "Basic realm=\"" + realm.replace("\\", "\\\\").replace("\"", "\\\"") + "\", charset=\"UTF-8\"";
  }

  /** The 407's {@code Proxy-Authenticate} values, most preferred first: Negotiate, then Basic if anyone can use it. */
  public List<String> challenges() {
    if (negotiate == null) {
      return List.of(challenge());
    }
    return users.isEmpty() && directory == null ? List.of("Negotiate") : List.of("Negotiate", challenge());
  }

  /** The Kerberos acceptor, or null when Negotiate is off. */
  /**
   * Whether a Kerberos setup fault may be warned of now: once a minute per settings, so that a commit that changes
   * them (a new keytab) is heard from at once, and a client sending bad tickets cannot flood the log.
   */
  public boolean setupWarningDue() {
    long now = System.nanoTime();
    long last = setupWarned.get();
    return (last == 0 || now - last > 60_000_000_000L) && setupWarned.compareAndSet(last, now);
  }

  private final java.util.concurrent.atomic.AtomicLong setupWarned = new java.util.concurrent.atomic.AtomicLong();

  public io.portcullis.daemon.identity.Negotiate negotiate() {
    return negotiate;
  }

  /**
   * The user a {@code Proxy-Authorization: Negotiate} value proves (slow: not on an event loop), null if it proves
   * none. Groups: a local user's, else the directory's (kept for groupsTtl per principal). Throws when the token is
   * bad, or when the directory is needed and down.
   */
  public User negotiated(String header) throws org.ietf.jgss.GSSException,
      io.portcullis.daemon.identity.Directory.Down {
    String b64 = header.substring("Negotiate ".length()).strip();
    if (b64.length() > io.portcullis.daemon.identity.Negotiate.MAX_TOKEN * 4 / 3 + 4) {
      throw new org.ietf.jgss.GSSException(org.ietf.jgss.GSSException.DEFECTIVE_TOKEN, -1, "a token over "
          + io.portcullis.daemon.identity.Negotiate.MAX_TOKEN + " bytes");
    }
    byte[] token;
    try {
      token = Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new org.ietf.jgss.GSSException(org.ietf.jgss.GSSException.DEFECTIVE_TOKEN, -1, "not base64");
    }
    io.portcullis.daemon.identity.Negotiate.Accepted a = negotiate.accept(token);
    if (a == null) {
      return null;
    }
    long now = System.nanoTime();
    Remembered r = negotiated.get(a.principal());
    if (r != null && now - r.groupsAt() < groupsTtlNanos && now - r.until() < 0) {
      return r.user();
    }
    String name = io.portcullis.daemon.identity.Negotiate.userName(a.principal(), stripRealm, a.serviceRealm());
    Known k = users.get(name);
    List<String> groups = List.of();
    String dn = null;
    if (k != null) {
      groups = k.groups();
    } else if (directory != null) {
      dn = directory.find(name);
      groups = dn == null ? List.of() : directory.groups(name, dn);
    }
    User u = new User(name, groups);
    if (negotiated.size() >= MAX_REMEMBERED) {
      negotiated.clear();
    }
    negotiated.put(a.principal(), new Remembered(u, now + ttlNanos, dn, now));
    return u;
  }

  /** The user a {@code Proxy-Authorization} value proves, if checked recently; null if it needs {@link #check}. */
  public User remembered(String header) {
    Remembered r = header == null ? null : remembered.get(header);
    if (r == null) {
      return null;
    }
    long now = System.nanoTime();
    if (now - r.until() > 0) {
      remembered.remove(header, r);
      return null;
    }
    if (r.dn() != null && now - r.groupsAt() > groupsTtlNanos && refreshing.add(header)) {
      // The groups kept serve while the directory is asked again, off the event loop.
      java.util.concurrent.ForkJoinPool.commonPool().execute(() -> {
        try {
          User fresh = new User(r.user().name(), directory.groups(r.user().name(), r.dn()));
          remembered.replace(header, r, new Remembered(fresh, r.until(), r.dn(), System.nanoTime()));
        } catch (io.portcullis.daemon.identity.Directory.Down e) {
          // kept as they were; the readiness check says the directory is down
        } finally {
          refreshing.remove(header);
        }
      });
    }
    return r.user();
  }

  /**
   * The groups of {@code name} as a login would find them: a local user's, else the directory's (blocking), else
   * none; with where they came from (local, directory, none).
   */
  public java.util.Map.Entry<String, List<String>> groupsOf(String name)
      throws io.portcullis.daemon.identity.Directory.Down {
    Known k = users.get(name);
    if (k != null) {
      return Map.entry("local", k.groups());
    }
    if (directory != null) {
      String dn = directory.find(name);
      if (dn != null) {
        return Map.entry("directory", directory.groups(name, dn));
      }
    }
    return Map.entry("none", List.of());
  }

  /** A user logged in lately: name, how (local, directory, kerberos), groups. */
  public record Login(String name, String via, List<String> groups) {
  }

  /** The users logged in and remembered now (one entry per name and way), sorted by name. */
  public List<Login> logins() {
    java.util.TreeMap<String, Login> out = new java.util.TreeMap<>();
    for (Remembered r : remembered.values()) {
      String via = r.dn() != null ? "directory" : "local";
      out.putIfAbsent(r.user().name() + "\n" + via, new Login(r.user().name(), via, r.user().groups()));
    }
    for (Remembered r : negotiated.values()) {
      out.putIfAbsent(r.user().name() + "\nkerberos", new Login(r.user().name(), "kerberos", r.user().groups()));
    }
    return List.copyOf(out.values());
  }

  /** The directory behind the local users, or null. */
  public io.portcullis.daemon.identity.Directory directory() {
    return directory;
  }

  /** True if {@code header} was found wrong within the last minute: 407 again, no hash check, not a new failure. */
  public boolean knownWrong(String header) {
    Long until = header == null ? null : wrong.get(header);
    if (until == null) {
      return false;
    }
    if (System.nanoTime() - until > 0) {
      wrong.remove(header, until);
      return false;
    }
    return true;
  }

  /**
   * Checks a {@code Proxy-Authorization} value against the hashes or the directory (slow: not on an event loop);
   * null if wrong. Throws when the name is the directory's and the directory cannot be reached.
   */
  public User check(String header) throws io.portcullis.daemon.identity.Directory.Down {
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String pair;
    try {
      pair = new String(Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    int colon = pair.indexOf(':');
    if (colon <= 0) {
      return null;
    }
    String name = pair.substring(0, colon);
    Known k = users.get(name);
    if (k == null && directory != null) {
      io.portcullis.daemon.identity.Directory.Found f = directory.authenticate(name, pair.substring(colon + 1));
      if (f == null) {
        return wrong(header);
      }
      return remember(header, new User(f.name(), f.groups()), f.dn());
    }
    boolean right = verify(pair.substring(colon + 1), k == null ? dummyHash : k.hash());
    if (k == null || !right) {
      return wrong(header);
    }
    return remember(header, new User(name, k.groups()), null);
  }

  private User wrong(String header) {
    if (wrong.size() >= MAX_REMEMBERED) {
      wrong.clear();
    }
    wrong.put(header, System.nanoTime() + WRONG_NANOS);
    return null;
  }

  private User remember(String header, User u, String dn) {
    if (remembered.size() >= MAX_REMEMBERED) {
      remembered.clear(); // crude but bounded: a flood of distinct credentials cannot grow memory
    }
    long now = System.nanoTime();
    remembered.put(header, new Remembered(u, now + ttlNanos, dn, now));
    return u;
  }

  /** True when {@code header} names a local user (not the directory's). */
  public boolean local(String header) {
    String name = name(header);
    return name != null && users.containsKey(name);
  }

  /** The user name a Basic {@code header} carries, or null. */
  static String name(String header) {
    if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    try {
      String pair = new String(Base64.getDecoder().decode(header.substring(6).strip()), StandardCharsets.UTF_8);
      int colon = pair.indexOf(':');
      return colon <= 0 ? null : pair.substring(0, colon);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** {@link #matches}, counted: each call is one hash computed. */
  private boolean verify(String password, String hash) {
    hashChecks.incrementAndGet();
    return matches(password, hash);
  }

  /** True if {@code password} hashes to {@code hash} ($6$, $5$ or $apr1$; the salt comes from the hash). */
  static boolean matches(String password, String hash) {
    byte[] key = password.getBytes(StandardCharsets.UTF_8);
    String computed;
    try {
      if (hash.startsWith("$6$")) {
        computed = Sha2Crypt.sha512Crypt(key, hash);
      } else if (hash.startsWith("$5$")) {
        computed = Sha2Crypt.sha256Crypt(key, hash);
      } else if (hash.startsWith("$apr1$")) {
        computed = Md5Crypt.apr1Crypt(key, hash);
      } else {
        return false;
      }
    } catch (IllegalArgumentException e) {
      return false; // a malformed salt
    }
    return MessageDigest.isEqual(computed.getBytes(StandardCharsets.US_ASCII),
        hash.getBytes(StandardCharsets.US_ASCII));
  }
}
