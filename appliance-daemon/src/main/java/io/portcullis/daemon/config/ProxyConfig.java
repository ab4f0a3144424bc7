package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.List;

/** The forward HTTP proxy verticle. */
public record ProxyConfig(
    @Doc("run the proxy") @Default("true") boolean enabled,
    @Doc("address the proxy listens on") @Default("0.0.0.0:3128") HostPort listen,
    @Doc("client networks the proxy serves; others get 403")
    @Default("127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16") List<Cidr> allowedClients,
    @Doc("ports CONNECT may open tunnels to") @Default("443") List<Integer> connectPorts,
    @Doc("networks the proxy never connects to, checked on the address it connects to after name resolution "
        + "(Squid's to_localhost, and more): loopback, this network, link-local (cloud metadata), multicast; [] allows "
        + "every address. The node's own listening ports on its own addresses are refused whatever this says")
    @Default("127.0.0.0/8, ::1, 0.0.0.0/8, ::, 169.254.0.0/16, fe80::/10, fd00:ec2::254, 224.0.0.0/4, ff00::/8, "
        + "255.255.255.255")
    List<Cidr> deniedDestinations,
    @Doc("add X-Forwarded-For with the client's address") @Default("false") boolean xForwardedFor,
    @Doc("connections to one origin at most (the pool; Vert.x's own default of 5 is far too low for a proxy)")
    @Default("256") int maxConnectionsPerOrigin,
    @Doc("requests waiting for a pooled connection at most; beyond that: 503") @Default("2048") int maxWaitQueue,
    @Doc("client connections at once at most; beyond that a new one gets 503 and is closed") @Default("20000")
    int maxConnections,
    @Doc("client connections at once from one address at most (a NAT gateway counts as one); beyond that: 503 and "
        + "close") @Default("2000") int maxConnectionsPerClient,
    @Doc("client networks exempt from maxConnectionsPerClient: balancers and NAT gateways that speak for many users")
    List<Cidr> unlimitedClients,
    @Doc("requests in progress at once at most, from the head to the end of the answer (a CONNECT until its tunnel "
        + "opens); beyond that a new request gets 503. What requests in flight hold (socket buffers, bodies kept for "
        + "ICAP) must fit in the JVM's memory bounds: raise it with them") @Default("128") int maxActiveRequests,
    @Doc("forwarders (balancers) whose X-Forwarded-For names the client, as Squid's follow_x_forwarded_for: a "
        + "request from one is taken as from the address it added (allowedClients, the rules, logs, events, ICAP's "
        + "X-Client-IP), walking back through the header while the hops are forwarders too")
    List<Cidr> followXForwardedFor,
    @Doc("time to connect to an origin") @Default("10s") Duration connectTimeout,
    @Doc("time an origin may stay silent while answering (504 before the answer begins)") @Default("60s")
    Duration upstreamTimeout,
    @Doc("close a client connection idle this long") @Default("2m") Duration idleTimeout,
    @Doc("longest request line, bytes") @Default("8192") int maxRequestLine,
    @Doc("largest request header section, bytes") @Default("32768") int maxHeaderBytes,
    @Doc("most header lines in one request") @Default("100") int maxHeaders,
    @Doc("time a client has to send a whole request head once it begins (and a new connection its first); 408 after")
    @Default("30s") Duration headerTimeout,
    @Doc("time a client has to send a request body, on top of one second per proxy.minBodyRate bytes it has sent "
        + "(time the proxy itself holds the body back does not count); 408 after (a slow-body attack); 0s: no limit")
    @Default("20s") Duration bodyTimeout,
    @Doc("bytes per second that extend bodyTimeout by a second each (Apache's MinRate)") @Default("500")
    int minBodyRate,
    @Doc("longest time from a request's head to the end of its answer: 504 if the answer has not begun, else the "
        + "connection closes; CONNECT tunnels are not limited (the idle timeout closes them); 0s: no limit")
    @Default("1h") Duration requestTimeout,
    @Doc("Basic proxy authentication (RFC 7617) against users with password hashes") ProxyAuth auth,
    @Doc("access log in Squid's native access.log format (SARG, Lightsquid and the like read it); empty: none")
    @Default("") @ConfigFile(ConfigFile.Kind.LOG) String accessLog,
    @Doc("heap that access-log lines waiting to be written may take at most; past it new ones are dropped and "
        + "counted: traffic never waits (10MiB style units allowed)") @Default("16777216") long accessLogMaxQueued,
    @Doc("the ICAP services the proxy sends requests and responses to") ProxyIcap icap,
    @Doc("HTTPS inspection: the CA that signs the certificates shown to clients of inspected CONNECT tunnels")
    TlsConfig tls) implements Validatable {

  /** Basic proxy authentication: the users, their password hashes and groups. */
  public record ProxyAuth(
      @Doc("ask clients for a user name and password before serving them (407 until they give a valid one)")
      @Default("false") boolean enabled,
      @Doc("the realm the browser's login prompt shows") @Default("Portcullis proxy") String realm,
      @Doc("users: name, password as a crypt hash ($6$ or $5$ as `openssl passwd -6` makes, or htpasswd's $apr1$), "
          + "groups") List<ProxyUser> users,
      @Doc("an htpasswd file (name:hash per line, as Squid's basic_ncsa_auth reads), relative to the config's "
          + "directory") @OptionalKey @ConfigFile String htpasswd,
      @Doc("failed logins from one client address (distinct wrong passwords) that make the proxy refuse it for a "
          + "while with 429, without checking passwords: a password-guessing client") Lockout lockout,
      @Doc("how long a checked user name and password are remembered (checking a hash costs milliseconds)")
      @Default("1h") Duration cacheTtl,
      @Doc("users and groups from an LDAP directory, for names that are not local users") LdapConfig ldap,
      @Doc("Kerberos single sign-on (SPNEGO): domain PCs log in with their ticket") NegotiateConfig negotiate,
      @Doc("when the directory cannot be reached, a login not remembered: refuse (a 503 page for every login, "
          + "local users too: fail closed) or local (local users get in, the directory's get the 503 page). Either "
          + "way the readiness check fails and an event says so") @Default("refuse")
      OnDirectoryDown onDirectoryDown) implements Validatable {

    /** What a login gets while the directory is down. */
    public enum OnDirectoryDown { REFUSE, LOCAL }

    @Override
    public void validate(String path, Problems problems) {
      if (enabled && users.isEmpty() && htpasswd == null && !ldap.enabled() && !negotiate.enabled()) {
        problems.add(path + ".users", "authentication is enabled but no users, no htpasswd file, no directory "
            + "(ldap.url) and no keytab (negotiate.keytab) are given");
      }
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (int i = 0; i < users.size(); i++) {
        ProxyUser u = users.get(i);
        if (!seen.add(u.name())) {
          problems.add(path + ".users[" + i + "].name", "user " + u.name() + " is given twice");
        }
      }
    }
  }

  /** One proxy user. */
  public record ProxyUser(
      @Doc("the user name (what ICAP and the rules see)") String name,
      @Doc("the password's crypt hash; plain text is refused") @Secret String password,
      @Doc("groups the user belongs to (rules match them)") List<String> groups) implements Validatable {

    /** The hash formats we check: SHA-512 and SHA-256 crypt, and Apache's MD5 (htpasswd -m). */
    public static boolean supportedHash(String h) {
      return h != null && (h.startsWith("$6$") || h.startsWith("$5$") || h.startsWith("$apr1$"));
    }

    @Override
    public void validate(String path, Problems problems) {
      if (name.isEmpty() || name.indexOf(':') >= 0 || !name.chars().allMatch(c -> c > 0x20 && c != 0x7f)) {
        problems.add(path + ".name", "\"" + name + "\" is not a user name (no spaces, controls or ':')");
      }
      if (!supportedHash(password)) {
        problems.add(path + ".password", "is not a $6$, $5$ or $apr1$ hash (make one with `openssl passwd -6`); "
            + "plain-text passwords are refused");
      }
    }
  }

  /** The proxy as an ICAP client. */
  public record ProxyIcap(
      @Doc("REQMOD service URLs, tried in order (failover); empty: this node's own ICAP server, if enabled")
      List<String> reqmod,
      @Doc("RESPMOD service URLs, tried in order; empty: this node's own ICAP server, if enabled") List<String> respmod,
      @Doc("when ICAP fails (down, timeout, protocol error): block (503 page) or bypass (pass unscanned)")
      @Default("block") OnError onError,
      @Doc("time an ICAP service may take to answer") @Default("30s") Duration timeout,
      @Doc("connections to one ICAP service at most") @Default("64") int maxConnections,
      @Doc("bodies up to this size are kept while the ICAP server reads them, so that it may answer 204")
      @Default("1048576") long maxBufferedBody) implements Validatable {

    /** What the proxy does when ICAP cannot answer. */
    public enum OnError { BLOCK, BYPASS }

    @Override
    public void validate(String path, Problems problems) {
      for (String key : List.of("reqmod", "respmod")) {
        List<String> urls = key.equals("reqmod") ? reqmod : respmod;
        for (int i = 0; i < urls.size(); i++) {
          if (!urls.get(i).matches("icap://[^/\\s:]+(:\\d{1,5})?/\\S*")) {
            problems.add(path + "." + key + "[" + i + "]", '"' + urls.get(i) + "\" is not icap://host[:port]/service");
          }
        }
      }
      problems.between(path + ".maxConnections", maxConnections, 1, 10_000);
    }
  }

  @Override
  public void validate(String path, Problems problems) {
    for (int i = 0; i < connectPorts.size(); i++) {
      if (connectPorts.get(i) < 1 || connectPorts.get(i) > 65535) {
        problems.add(path + ".connectPorts[" + i + "]", connectPorts.get(i) + " is not a port");
      }
    }
    problems.between(path + ".maxConnectionsPerOrigin", maxConnectionsPerOrigin, 1, 100_000);
    problems.between(path + ".maxWaitQueue", maxWaitQueue, 0, 1_000_000);
    problems.between(path + ".maxConnections", maxConnections, 1, 10_000_000);
    problems.between(path + ".minBodyRate", minBodyRate, 1, 1_000_000_000);
    if (!bodyTimeout.isZero() && (bodyTimeout.toMillis() < 100 || bodyTimeout.compareTo(Duration.ofDays(1)) > 0)) {
      problems.add(path + ".bodyTimeout", "must be 0s (no limit) or between 100ms and 1d");
    }
    problems.between(path + ".maxConnectionsPerClient", maxConnectionsPerClient, 1, 10_000_000);
    problems.between(path + ".maxActiveRequests", maxActiveRequests, 1, 10_000_000);
    if (accessLogMaxQueued < 1024 * 1024 || accessLogMaxQueued > 1L << 32) {
      problems.add(path + ".accessLogMaxQueued", accessLogMaxQueued + " is not between 1MiB and 4GiB");
    }
    problems.between(path + ".maxRequestLine", maxRequestLine, 256, 1024 * 1024);
    problems.between(path + ".maxHeaders", maxHeaders, 8, 10_000);
    problems.between(path + ".maxHeaderBytes", maxHeaderBytes, 1024, 1024 * 1024);
  }
}
