package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who calls the admin API. The node's token (DATA_DIR/admin.token, readable by root and the daemon's user) is the
 * local console: admin. Each SSH console session gets a token of its own for as long as it lasts, carrying its user's
 * name and role, so a session can do no more than its role allows, and its user name cannot be claimed by a header.
 */
public final class Callers {
  /** One caller: its user name, role and where it is; {@code session} is false for the node's token. */
  public record Caller(String user, Role role, String source, boolean session) {
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private final AdminToken node;
  private final java.util.function.Function<String, Role> roleNow;
  private final Map<String, Caller> sessions = new ConcurrentHashMap<>();

  /** {@code roleNow} gives a console user's role in the config in effect (null: no such user any more). */
  public Callers(AdminToken node, java.util.function.Function<String, Role> roleNow) {
    this.node = node;
    this.roleNow = roleNow;
  }

  /** A token for an SSH console session of {@code user}; valid until {@link #close}. */
  public String open(String user, Role role, String source) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String token = "s." + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    sessions.put(token, new Caller(user, role, source, true));
    return token;
  }

  /** The session of {@code token} is over. */
  public void close(String token) {
    sessions.remove(token);
  }

  /** The caller an Authorization header ({@code Bearer TOKEN}) proves; null if it proves none. */
  public Caller resolve(String header) {
    if (header == null || !header.startsWith("Bearer ")) {
      return null;
    }
    if (node.accepts(header)) {
      return new Caller(null, Role.ADMIN, null, false);
    }
    // A hash look-up of a 256-bit random token: what an attacker learns from its time is nothing about the token.
    Caller c = sessions.get(header.substring(7).strip());
    if (c == null) {
      return null;
    }
    // The role in effect now, not at login: a user demoted or removed by a commit loses the rights at once.
    Role now = roleNow.apply(c.user());
    return now == null ? null : now == c.role() ? c : new Caller(c.user(), now, c.source(), true);
  }
}
