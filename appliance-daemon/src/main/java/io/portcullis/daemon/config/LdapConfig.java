package io.portcullis.daemon.config;

import java.time.Duration;

/**
 * Users and groups from an LDAP directory (Active Directory, OpenLDAP), as Squid's basic_ldap_auth and
 * ext_ldap_group_acl use one: a user's Basic credentials are checked by binding as the entry a search finds, the
 * user's groups are searched for (and the groups of those groups), kept for groupsTtl. Off while url is empty.
 */
public record LdapConfig(
    @Doc("the directory's URLs, ldap:// or ldaps://, separated by spaces, tried in order (failover); empty: no "
        + "directory") @Default("") String url,
    @Doc("upgrade ldap:// connections with StartTLS (ldaps:// is TLS from the start)") @Default("false")
    boolean startTls,
    @Doc("PEM file of the CA the directory's certificate is checked against (relative to the config's directory); "
        + "none: the system's") @OptionalKey @ConfigFile String trust,
    @Doc("the DN the proxy binds as to search for users and groups; none: anonymous searches")
    @OptionalKey String bindDn,
    @Doc("bindDn's password") @OptionalKey @Secret String bindPassword,
    @Doc("where users are searched for, e.g. ou=people,dc=example,dc=com") @Default("") String userBase,
    @Doc("the filter that finds a user; {user} is the name typed, escaped (RFC 4515): (sAMAccountName={user}) for "
        + "Active Directory, (uid={user}) for OpenLDAP") @Default("(uid={user})") String userFilter,
    @Doc("where groups are searched for; empty: users have no groups from the directory") @Default("")
    String groupBase,
    @Doc("the filter that finds the groups an entry is a direct member of; {dn} is the user's (then a group's) DN, "
        + "{user} the name, both escaped: (member={dn}) for groupOfNames and AD, (memberUid={user}) for posixGroup. "
        + "A group's name is its cn") @Default("(member={dn})") String groupFilter,
    @Doc("how deep groups of groups are followed (0: direct groups only)") @Default("8") int nestedDepth,
    @Doc("how long a user's groups are kept before they are searched again (the old ones serve meanwhile)")
    @Default("5m") Duration groupsTtl,
    @Doc("connect and answer timeout per directory operation") @Default("5s") Duration timeout,
    @Doc("directory connections the node keeps open at most") @Default("8") int maxConnections)
    implements Validatable {

  /** True when a directory is configured. */
  public boolean enabled() {
    return !url.isBlank();
  }

  /** The URLs in order. */
  public java.util.List<String> urls() {
    return url.isBlank() ? java.util.List.of() : java.util.List.of(url.strip().split("\\s+"));
  }

  @Override
  public void validate(String path, Problems problems) {
    for (String u : urls()) {
      java.net.URI parsed;
      try {
        parsed = new java.net.URI(u);
      } catch (java.net.URISyntaxException e) {
        problems.add(path + ".url", "\"" + u + "\" is not a URL");
        continue;
      }
      if (!"ldap".equalsIgnoreCase(parsed.getScheme()) && !"ldaps".equalsIgnoreCase(parsed.getScheme())
          || parsed.getHost() == null) {
        problems.add(path + ".url", "\"" + u + "\" is not an ldap:// or ldaps:// URL with a host");
      }
    }
    if (!enabled()) {
      return;
    }
    if (userBase.isBlank()) {
      problems.add(path + ".userBase", "is required with url");
    }
    if (!userFilter.contains("{user}") || !balanced(userFilter)) {
      problems.add(path + ".userFilter", "must be an LDAP filter in parentheses with {user} in it");
    }
    if (!groupBase.isBlank() && (!groupFilter.contains("{dn}") && !groupFilter.contains("{user}")
        || !balanced(groupFilter))) {
      problems.add(path + ".groupFilter", "must be an LDAP filter in parentheses with {dn} or {user} in it");
    }
    if ((bindDn == null) != (bindPassword == null)) {
      problems.add(path + (bindDn == null ? ".bindDn" : ".bindPassword"), "is required with "
          + (bindDn == null ? "bindPassword" : "bindDn"));
    }
    problems.between(path + ".nestedDepth", nestedDepth, 0, 32);
    problems.between(path + ".maxConnections", maxConnections, 1, 256);
    if (timeout.toMillis() < 100 || timeout.compareTo(Duration.ofMinutes(2)) > 0) {
      problems.add(path + ".timeout", "must be between 100ms and 2m");
    }
    if (groupsTtl.compareTo(Duration.ofSeconds(1)) < 0) {
      problems.add(path + ".groupsTtl", "must be at least 1s");
    }
  }

  /** A filter's parentheses open and close in turn (the placeholders are filled in escaped, so this holds after). */
  private static boolean balanced(String filter) {
    int depth = 0;
    for (int i = 0; i < filter.length(); i++) {
      char c = filter.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth < 0) {
        return false;
      }
    }
    return depth == 0 && filter.startsWith("(") && filter.endsWith(")");
  }
}
