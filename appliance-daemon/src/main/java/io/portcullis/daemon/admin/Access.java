package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role;

/**
 * What each console role may do through the admin API, checked on every call: read-only may only read (and try a
 * URL against the rules); operator may also configure and commit, but not change the console, proxy authentication,
 * cluster or admin-API sections (who may log in, and how), nor read a join key; admin may do everything.
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
    if (path.startsWith("/api/v1/tls/ca/rotate")) {
      return "rotating the inspection CA (every client must trust the new one) is for the admin role";
    }
    if (path.startsWith("/api/v1/files/")) {
      return "importing a file beside the config (a keytab, a key) is for the admin role";
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
    if (from == null || to == null) {
      return "nothing to compare";
    }
    Config a;
    Config b;
    try {
      a = ConfigLoader.parse(from);
      b = ConfigLoader.parse(to);
    } catch (ConfigException e) {
      return null; // not committable: the commit refuses it itself, with its problems
    }
    // Who may log in and how, and who belongs to the cluster, are the admin's: whole sections, so that no key of
    // them (a node listed, the lockout turned off, the admin API opened) is a way round.
    if (!a.console().equals(b.console())) {
      return "console (users, roles, SSH settings) is for the admin role";
    }
    if (!a.proxy().auth().equals(b.proxy().auth())) {
      return "proxy.auth (users and how they log in) is for the admin role";
    }
    if (!a.cluster().equals(b.cluster())) {
      return "cluster (members and secrets) is for the admin role";
    }
    if (!a.admin().equals(b.admin())) {
      return "admin (the admin API) is for the admin role";
    }
    return null;
  }
}
