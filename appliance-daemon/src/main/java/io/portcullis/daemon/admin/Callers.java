package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who calls the admin API. The node's token (DATA_DIR/admin.token, readable by root and the daemon's user) is the
 * local console: admin. Each SSH console login gets a token of its own for as long as it lasts, carrying its user's
 * name and role, so a login can do no more than its role allows, and its user name cannot be claimed by a header.
 * ("Login", not "session": here a session is a configuration session, {@code EditSessions}.)
 */
public final class Callers {
  /** One caller: its user name, role and where it is; {@code login} is false for the node's token. */
  public record Caller(String user, Role role, String source, boolean login) {
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private final AdminToken nodeToken;
  private final java.util.function.Function<String, Role> roleNow;
  private final Map<String, Caller> logins = new ConcurrentHashMap<>();

  /** {@code roleNow} gives a console user's role in the config in effect (null: no such user any more). */
  public Callers(AdminToken nodeToken, java.util.function.Function<String, Role> roleNow) {
    this.nodeToken = nodeToken;
    this.roleNow = roleNow;
  }

  /** A token for an SSH console login of {@code user}; valid until {@link #close}. */
  public String open(String user, Role role, String source) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = "s." + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    logins.put(token, new Caller(user, role, source, true));
    return token;
  }

  /** The login of {@code token} is over: the token no longer works. */
  public void close(String token) {
    logins.remove(token);
  }

  /** The caller an Authorization header ({@code Bearer TOKEN}) proves; null if it proves none. */
  public Caller resolve(String header) {
    if (header == null || !header.startsWith("Bearer ")) {
      return null;
    }
    if (nodeToken.accepts(header)) {
      return new Caller(null, Role.ADMIN, null, false);
    }
    // A hash look-up of a 256-bit random token: what an attacker learns from its time is nothing about the token.
    Caller c = logins.get(header.substring(7).strip());
    if (c == null) {
      return null;
    }
    // The role in effect now, not at login: a user demoted or removed by a commit loses the rights at once.
    Role now = roleNow.apply(c.user());
    return now == null ? null : now == c.role() ? c : new Caller(c.user(), now, c.source(), true);
  }
}
