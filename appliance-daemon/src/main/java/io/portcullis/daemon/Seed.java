package io.portcullis.daemon;

import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.config.ConfigEditor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Unattended-install answers: the first console admin (password hash and/or SSH key), the node's name and role, so
 * that fleet tools (Ansible, cloud-init, a seed disk) need no interactive step. Answers come from {@code PORTCULLIS_*}
 * environment variables and from an answers file of {@code KEY=value} lines (the file wins); they are applied to the
 * config once, at start, and a marker in the data dir (the answers' sha256) keeps a restart from applying them again
 * over the admin's later changes.
 */
public record Seed(Map<String, String> answers, String origin) {
  /**
   * Every key the answers may hold. Another key in the answers file is refused, so a typo is not silently lost; in
   * the environment it is ignored, since orchestrators add their own (Kubernetes sets PORTCULLIS_SERVICE_HOST and
   * PORTCULLIS_PORT_* for a service named portcullis).
   */
  static final Set<String> KEYS = Set.of("PORTCULLIS_ADMIN_USER", "PORTCULLIS_ADMIN_PASSWORD_HASH",
      "PORTCULLIS_ADMIN_PASSWORD", "PORTCULLIS_ADMIN_SSH_KEY", "PORTCULLIS_NODE_NAME", "PORTCULLIS_ROLE");
  static final String MARKER = "seed.applied";

  /** A role: which traffic services the node runs. */
  enum Role {
    /** proxy and ICAP server (the default config). */
    GATEWAY(true, true),
    /** only the ICAP server, for Squid or another proxy in front. */
    ICAP(false, true),
    /** only the proxy, using an ICAP server elsewhere. */
    PROXY(true, false);

    final boolean proxy;
    final boolean icap;

    Role(boolean proxy, boolean icap) {
      this.proxy = proxy;
      this.icap = icap;
    }
  }

  /** Answers that cannot be used: the message names the key. */
  static final class SeedException extends Exception {
    SeedException(String message) {
      super(message);
    }
  }

  /** The answers from {@code env} and {@code file} (null or missing: none); empty when there are none. */
  static Seed read(Map<String, String> env, Path file) throws IOException, SeedException {
    Map<String, String> answers = new LinkedHashMap<>();
    List<String> origins = new ArrayList<>();
    env.forEach((k, v) -> {
      if (KEYS.contains(k)) {
        answers.put(k, v);
      }
    });
    if (!answers.isEmpty()) {
      origins.add("the environment");
    }
    if (file != null && Files.isRegularFile(file)) {
      int n = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        n++;
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        if (l.startsWith("export ")) {
          l = l.substring(7).strip();
        }
        int eq = l.indexOf('=');
        if (eq <= 0) {
          throw new SeedException(file + ":" + n + ": not a KEY=value line");
        }
        answers.put(l.substring(0, eq).strip(), unquote(l.substring(eq + 1).strip()));
      }
      origins.add(file.toString());
    }
    for (String k : answers.keySet()) {
      if (!KEYS.contains(k)) {
        throw new SeedException(k + " is not an answer (known: " + String.join(", ", KEYS.stream().sorted().toList())
            + ")");
      }
    }
    answers.values().removeIf(String::isEmpty);
    return new Seed(Map.copyOf(answers), String.join(" and ", origins));
  }

  private static String unquote(String v) {
    if (v.length() >= 2 && (v.charAt(0) == '"' || v.charAt(0) == '\'') && v.charAt(v.length() - 1) == v.charAt(0)) {
      return v.substring(1, v.length() - 1);
    }
    return v;
  }

  boolean isEmpty() {
    return answers.isEmpty();
  }

  /** The answers' identity: a restart with the same answers does not apply them again. */
  String digest() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      answers.entrySet().stream().sorted(Map.Entry.comparingByKey())
          .forEach(e -> md.update((e.getKey() + "=" + e.getValue() + "\n").getBytes(StandardCharsets.UTF_8)));
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether these answers were applied with this data dir already. */
  boolean appliedIn(Path dataDir) throws IOException {
    Path m = dataDir.resolve(MARKER);
    return Files.isRegularFile(m) && Files.readString(m, StandardCharsets.UTF_8).strip().equals(digest());
  }

  void markApplied(Path dataDir) throws IOException {
    Files.createDirectories(dataDir);
    io.portcullis.daemon.config.AtomicFiles.write(dataDir.resolve(MARKER),
        (digest() + "\n").getBytes(StandardCharsets.UTF_8), null);
  }

  /** The config {@code yaml} with the answers applied (not yet validated as a whole: the caller parses it). */
  String applyTo(String yaml) throws SeedException {
    String user = answers.getOrDefault("PORTCULLIS_ADMIN_USER", "admin");
    String hash = answers.get("PORTCULLIS_ADMIN_PASSWORD_HASH");
    String plain = answers.get("PORTCULLIS_ADMIN_PASSWORD");
    if (hash != null && plain != null) {
      throw new SeedException("give PORTCULLIS_ADMIN_PASSWORD_HASH or PORTCULLIS_ADMIN_PASSWORD, not both");
    }
    if (hash != null && !PasswordHash.wellFormed(hash)) {
      throw new SeedException("PORTCULLIS_ADMIN_PASSWORD_HASH is not a $pbkdf2-sha256$ hash (make one with "
          + "`portcullis-console hash-password`)");
    }
    if (plain != null) {
      hash = PasswordHash.make(plain.toCharArray());
    }
    String key = answers.get("PORTCULLIS_ADMIN_SSH_KEY");
    String out = yaml;
    try {
      if (hash != null || key != null) {
        if (hash != null) {
          out = ConfigEditor.set(out, List.of("console", "users", user, "passwordHash", hash));
        }
        if (key != null) {
          out = ConfigEditor.set(out, List.of("console", "users", user, "authorizedKeys", key));
        }
        out = ConfigEditor.set(out, List.of("console", "users", user, "role", "admin")); // the install's admin
        // An admin given at install is an admin who means to log in: the SSH console runs.
        out = ConfigEditor.set(out, List.of("console", "ssh", "enabled", "true"));
      } else if (answers.containsKey("PORTCULLIS_ADMIN_USER")) {
        throw new SeedException("PORTCULLIS_ADMIN_USER needs PORTCULLIS_ADMIN_PASSWORD_HASH, "
            + "PORTCULLIS_ADMIN_PASSWORD or PORTCULLIS_ADMIN_SSH_KEY");
      }
      String name = answers.get("PORTCULLIS_NODE_NAME");
      if (name != null) {
        out = ConfigEditor.set(out, List.of("node", "name", name));
      }
      String role = answers.get("PORTCULLIS_ROLE");
      if (role != null) {
        Role r;
        try {
          r = Role.valueOf(role.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
          throw new SeedException("PORTCULLIS_ROLE " + role + " is not one of gateway, icap, proxy");
        }
        out = ConfigEditor.set(out, List.of("proxy", "enabled", Boolean.toString(r.proxy)));
        out = ConfigEditor.set(out, List.of("icap", "enabled", Boolean.toString(r.icap)));
      }
    } catch (ConfigEditor.EditException e) {
      throw new SeedException(e.getMessage());
    }
    return out;
  }
}
