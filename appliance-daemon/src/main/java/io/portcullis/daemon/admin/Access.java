package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role;
import java.util.Objects;

/**
 * What each console role may do through the admin API, checked on every call: read-only may only read (and try a
 * URL against the rules); operator may also configure and commit, but not change who may log in (console users,
 * proxy users) or the cluster's secrets, nor read a join key; admin may do everything.
 */
public final class Access {
  private Access() {
  }

  /** Why {@code role} may not make the call {@code method path}; null if it may. */
  public static String refusal(Role role, String method, String path) {
    if (role == Role.ADMIN) {
      return null;
    }
    if (path.startsWith("/api/v1/cluster/join-key")) {
      return "join keys are for the admin role";
    }
    boolean reads = method.equals("GET") || method.equals("HEAD") || path.equals("/api/v1/test-url");
    if (role == Role.READ_ONLY && !reads) {
      return "the read-only role may only show";
    }
    return null;
  }

  /** Why {@code role} may not commit {@code to} in place of {@code from}; null if it may (or if either is invalid). */
  public static String commitRefusal(Role role, String from, String to) {
    if (role == Role.ADMIN) {
      return null;
    }
    if (role == Role.READ_ONLY) {
      return "the read-only role may not commit";
    }
    Config a;
    Config b;
    try {
      a = ConfigLoader.parse(from);
      b = ConfigLoader.parse(to);
    } catch (ConfigException e) {
      return null; // the commit itself reports what is wrong
    }
    if (!a.console().users().equals(b.console().users())) {
      return "console.users is for the admin role";
    }
    if (!a.proxy().auth().users().equals(b.proxy().auth().users())
        || !Objects.equals(a.proxy().auth().htpasswd(), b.proxy().auth().htpasswd())) {
      return "proxy.auth users are for the admin role";
    }
    if (!Objects.equals(a.cluster().secret(), b.cluster().secret())
        || !Objects.equals(a.cluster().joinKey(), b.cluster().joinKey())
        || !Objects.equals(a.cluster().caFingerprint(), b.cluster().caFingerprint())) {
      return "the cluster's secrets are for the admin role";
    }
    return null;
  }
}
