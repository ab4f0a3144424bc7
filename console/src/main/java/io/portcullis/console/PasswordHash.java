package io.portcullis.console;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import java.util.Base64;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * Console password hashes: PBKDF2-HMAC-SHA256 from the JDK, written {@code $pbkdf2-sha256$ITERATIONS$SALT$HASH}
 * (salt and hash in unpadded base64). Checked in constant time; never stored or logged in plain text.
 */
public final class PasswordHash {
  public static final int ITERATIONS = 210_000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
  private static final String PREFIX = "$pbkdf2-sha256$";

  private PasswordHash() {
  }

  /** A new hash of {@code password} with a random salt. */
  public static String make(char[] password) {
    byte[] salt = new byte[16];
    new SecureRandom().nextBytes(salt);
    return PREFIX + ITERATIONS + "$" + b64(salt) + "$" + b64(derive(password, salt, ITERATIONS));
  }

  /** True when {@code hash} has the form {@link #make} writes. */
  public static boolean wellFormed(String hash) {
    return parse(hash) != null;
  }

  /** True when {@code password} matches {@code hash}. */
  public static boolean check(char[] password, String hash) {
    Parsed p = parse(hash);
    return p != null && MessageDigest.isEqual(p.hash, derive(password, p.salt, p.iterations));
  }

  /** The iteration count of a well-formed hash (one {@link #check} derives a key for), or -1. */
  public static int iterations(String hash) {
    Parsed p = parse(hash);
    return p == null ? -1 : p.iterations;
  }

  private record Parsed(int iterations, byte[] salt, byte[] hash) {
  }

  private static Parsed parse(String hash) {
    if (hash == null || !hash.startsWith(PREFIX)) {
      return null;
    }
    String[] parts = hash.substring(PREFIX.length()).split("\\$");
    try {
      int n = Integer.parseInt(parts[0]);
      byte[] salt = Base64.getDecoder().decode(parts[1]);
      byte[] h = Base64.getDecoder().decode(parts[2]);
      return parts.length == 3 && n >= 10_000 && salt.length >= 8 && h.length == 32 ? new Parsed(n, salt, h) : null;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static byte[] derive(char[] password, byte[] salt, int iterations) {
    try {
      KeySpec spec = new PBEKeySpec(password, salt, iterations, 256);
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA256 is missing from this JDK", e);
    }
  }

  private static String b64(byte[] b) {
    return Base64.getEncoder().withoutPadding().encodeToString(b);
  }

}
