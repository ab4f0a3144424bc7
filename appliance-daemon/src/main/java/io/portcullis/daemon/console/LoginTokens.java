package io.portcullis.daemon.console;

import io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role;

/** Where an SSH session gets an admin-API token for its user and role, given back when the session ends. */
public interface LoginTokens {
  /** A token that may do what {@code role} may, in the name of {@code user} at {@code source}. */
  String open(String user, Role role, String source);

  /** The session of {@code token} is over: the token no longer works. */
  void close(String token);
}
