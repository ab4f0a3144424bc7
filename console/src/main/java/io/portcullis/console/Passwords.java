package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Console passwords: the hash is made here, so a password never reaches the daemon or a log. */
final class Passwords {
  private Passwords() {
  }

  /** {@code passwd USER}: sets USER's console password, committed; a user made here is an admin. */
  static Action passwd(List<String> args) {
    if (args.size() != 1) {
      throw new UsageError("passwd needs one USER");
    }
    String user = args.get(0);
    return shell -> {
      char[] password = readNew(shell, "New password for " + user + ": ");
      if (password == null) {
        return 1;
      }
      String hash = PasswordHash.make(password);
      Arrays.fill(password, ' ');
      List<String> script = new ArrayList<>(List.of("configure",
          "set console users " + user + " passwordHash " + hash));
      if (!exists(shell.client(), user)) {
        // Whoever may read the node's token is its administrator; users made elsewhere get roles later.
        script.add("set console users " + user + " role admin");
      }
      script.addAll(List.of("commit comment password of console user " + user, "exit"));
      Shell own = new Shell(shell.client(), shell.out(), shell.err(), false);
      try {
        return own.script(script);
      } finally {
        own.close();
      }
    };
  }

  /** {@code hash-password}: prints the hash of a new password (for PORTCULLIS_ADMIN_PASSWORD_HASH); no daemon. */
  static int hash(Shell shell) throws IOException {
    char[] password = readNew(shell, "Password: ");
    if (password == null) {
      return 1;
    }
    shell.out().println(PasswordHash.make(password));
    Arrays.fill(password, ' ');
    return 0;
  }

  /** Whether the active config has console user {@code user}. */
  private static boolean exists(AdminClient c, String user) throws IOException, InterruptedException {
    AdminClient.Answer a = c.get("api/v1/config?format=set");
    if (!a.ok()) {
      throw new IOException("cannot read the config: " + a.body());
    }
    for (JsonNode line : a.body().path("set")) {
      if (line.asText().startsWith("set console users " + user + " ")) {
        return true;
      }
    }
    return false;
  }

  /** A new password: asked twice on a terminal, else one line of stdin; null (reported) when unusable. */
  private static char[] readNew(Shell shell, String prompt) throws IOException {
    char[] password;
    java.io.Console tty = System.console();
    if (tty != null) {
      password = tty.readPassword("%s", prompt);
      char[] again = tty.readPassword("Again: ");
      if (password == null || again == null || !Arrays.equals(password, again)) {
        shell.err().println("error: the passwords differ");
        return null;
      }
    } else {
      String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
      password = line == null ? new char[0] : line.toCharArray();
    }
    if (password.length < 8) {
      shell.err().println("error: a console password needs at least 8 characters");
      return null;
    }
    return password;
  }
}
