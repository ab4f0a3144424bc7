package io.portcullis.daemon.admin;

import io.portcullis.daemon.config.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;

/** The admin API's bearer token: made once, kept in the data dir readable by the daemon's user only. */
public final class AdminToken {
  public static final String FILE = "admin.token";
  private final byte[] token;

  private AdminToken(String token) {
    this.token = token.getBytes(StandardCharsets.US_ASCII);
  }

  /** Reads the token in {@code dataDir}, creating it (mode 0600) on first start. */
  public static AdminToken loadOrCreate(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE);
    if (Files.exists(file)) {
      String t = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (t.length() >= 32) {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return new AdminToken(t);
      }
    }
    byte[] raw = new byte[32];
    new SecureRandom().nextBytes(raw);
    String t = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    AtomicFiles.write(file, (t + "\n").getBytes(StandardCharsets.US_ASCII),
        PosixFilePermissions.fromString("rw-------"));
    return new AdminToken(t);
  }

  /** The token itself, for a console the daemon hosts (it calls this API like any other client). */
  public String value() {
    return new String(token, StandardCharsets.US_ASCII);
  }

  /** True when {@code header} is {@code Bearer <token>}; compares in constant time. */
  public boolean accepts(String header) {
    if (header == null || !header.startsWith("Bearer ")) {
      return false;
    }
    return MessageDigest.isEqual(token, header.substring(7).strip().getBytes(StandardCharsets.US_ASCII));
  }
}
