package io.portcullis.daemon.rules;

import java.util.Locale;
import java.util.regex.Pattern;

/** One host condition: exact ({@code a.test}), domain ({@code *.a.test}: a.test and below), or glob ({@code a?.*.test}). */
final class HostPattern {
  private final String exact;
  private final String domain;
  private final Pattern glob;

  private HostPattern(String exact, String domain, Pattern glob) {
    this.exact = exact;
    this.domain = domain;
    this.glob = glob;
  }

  static HostPattern of(String pattern) {
    String p = pattern.toLowerCase(Locale.ROOT);
    if (p.endsWith(".")) {
      p = p.substring(0, p.length() - 1);
    }
    if (p.startsWith("*.") && p.indexOf('*', 2) < 0 && p.indexOf('?') < 0) {
      return new HostPattern(null, p.substring(2), null);
    }
    if (p.indexOf('*') < 0 && p.indexOf('?') < 0) {
      return new HostPattern(p, null, null);
    }
    return new HostPattern(null, null, Globs.compile(p, false));
  }

  /** The exact host, or null. */
  String exact() {
    return exact;
  }

  /** The domain of a {@code *.domain} pattern, or null. */
  String domain() {
    return domain;
  }

  /** True when {@code host} (lower case, no trailing dot) matches. */
  boolean matches(String host) {
    if (exact != null) {
      return exact.equals(host);
    }
    if (domain != null) {
      return host.equals(domain)
          || (host.length() > domain.length() && host.endsWith(domain) && host.charAt(host.length() - domain.length() - 1) == '.');
    }
    return glob.matcher(host).matches();
  }
}
