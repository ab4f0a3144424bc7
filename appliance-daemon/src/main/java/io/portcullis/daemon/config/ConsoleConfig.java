package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.List;

/** The console over SSH: its server and the users who may log in. */
public record ConsoleConfig(
    @Doc("the SSH server that serves the console (and nothing else: no system shell, SCP, SFTP or forwarding)")
    Ssh ssh,
    @Doc("console users: name, password hash and/or authorized public keys") List<ConsoleUser> users)
    implements Validatable {

  /** The SSH server. */
  public record Ssh(
      @Doc("run the SSH server") @Default("false") boolean enabled,
      @Doc("address the SSH server listens on") @Default("0.0.0.0:2222") HostPort listen,
      @Doc("accept passwords (false: public keys only)") @Default("true") boolean passwordLogin,
      @Doc("failed password logins from one address that lock it out of the SSH server for a while (fail2ban's "
          + "rule); the lockout is logged in the audit log and counted") Lockout lockout,
      @Doc("failed authentication attempts before the connection is closed") @Default("3") int maxAuthAttempts,
      @Doc("time a client has to authenticate") @Default("30s") Duration authTimeout,
      @Doc("close a session idle this long") @Default("15m") Duration idleTimeout) implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (maxAuthAttempts < 1 || maxAuthAttempts > 20) {
        problems.add(path + ".maxAuthAttempts", maxAuthAttempts + " is not between 1 and 20");
      }
      if (authTimeout.isZero() || idleTimeout.isZero()) {
        problems.add(path + (authTimeout.isZero() ? ".authTimeout" : ".idleTimeout"), "must be more than 0s");
      }
    }
  }

  /** One console user. */
  public record ConsoleUser(
      @Doc("the user name") String name,
      @Doc("the password as a PBKDF2 hash ($pbkdf2-sha256$ITERATIONS$SALT$HASH, as `portcullis-console passwd` "
          + "makes); none: no password login") @OptionalKey @Secret String passwordHash,
      @Doc("OpenSSH public keys (\"ssh-ed25519 AAAA… comment\") that may log in as this user")
      List<String> authorizedKeys,
      @Doc("what the user may do: admin (everything), operator (show, configure and commit, but not console users, "
          + "proxy users or the cluster's secrets) or read-only (show only)") @Default("read-only") Role role)
      implements Validatable {

    /** What a console user may do; the daemon checks it on every admin-API call of the user's session. */
    public enum Role { ADMIN, OPERATOR, READ_ONLY }

    @Override
    public void validate(String path, Problems problems) {
      if (!name.matches("[a-z_][a-z0-9_.-]{0,31}")) {
        problems.add(path + ".name", "\"" + name + "\" is not a user name (lower case letters, digits, _ . -)");
      }
      if (passwordHash != null && !io.portcullis.console.PasswordHash.wellFormed(passwordHash)) {
        problems.add(path + ".passwordHash", "is not a $pbkdf2-sha256$ hash (make one with `portcullis-console "
            + "passwd`); plain-text passwords are refused");
      }
      for (int i = 0; i < authorizedKeys.size(); i++) {
        String k = authorizedKeys.get(i).strip();
        if (!k.matches("(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?")) {
          problems.add(path + ".authorizedKeys[" + i + "]", "is not an OpenSSH public key line (type base64 comment)");
        }
      }
    }
  }

  @Override
  public void validate(String path, Problems problems) {
  }
}
