package io.portcullis.daemon.scan;

import io.portcullis.daemon.rules.FileTypes;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The built-in engine: the EICAR test file (alone or inside zip archives, nested up to 3 deep), and SHA-256 hashes of
 * known-bad files from lists ({@code HEX [name]} per line, {@code #} comments), also applied to archive members.
 * Archive expansion is bounded (zip bombs cost at most {@link #MAX_EXPANDED} bytes of reading).
 */
public final class BuiltinEngine implements ScanEngine {
  static final byte[] EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
      .getBytes(StandardCharsets.US_ASCII);
  static final String EICAR_NAME = "EICAR-Test-File";
  static final long MAX_EXPANDED = 64L * 1024 * 1024;
  private static final int MAX_DEPTH = 3;

  private final boolean eicar;
  private final Map<String, String> hashes;

  public BuiltinEngine(boolean eicar, Map<String, String> hashes) {
    this.eicar = eicar;
    this.hashes = Map.copyOf(hashes);
  }

  /** Reads SHA-256 lists; a line is {@code HEX} or {@code HEX NAME}; the default name is the list's file name. */
  public static Map<String, String> loadHashLists(List<Path> files) throws IOException {
    Map<String, String> out = new HashMap<>();
    for (Path f : files) {
      try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
        String line;
        int n = 0;
        while ((line = r.readLine()) != null) {
          n++;
          String s = line.strip();
          if (s.isEmpty() || s.startsWith("#")) {
            continue;
          }
          String[] parts = s.split("\\s+", 2);
          String hex = parts[0].toLowerCase();
          if (!hex.matches("[0-9a-f]{64}")) {
            throw new IOException(f + " line " + n + ": \"" + parts[0] + "\" is not a SHA-256 hex digest");
          }
          out.put(hex, parts.length > 1 ? parts[1] : "SHA256." + f.getFileName());
        }
      }
    }
    return out;
  }

  @Override
  public String name() {
    return "builtin";
  }

  @Override
  public ScanResult scan(byte[] data, int length) {
    try {
      String threat = check(data, length, 0, new long[] {0});
      return threat == null ? ScanResult.CLEAN : new ScanResult.Infected(threat, name());
    } catch (IOException e) {
      return ScanResult.CLEAN; // a corrupt archive carries nothing we could open either
    }
  }

  private String check(byte[] data, int length, int depth, long[] expanded) throws IOException {
    if (eicar && isEicar(data, length)) {
      return EICAR_NAME;
    }
    if (!hashes.isEmpty()) {
      String h = hashes.get(sha256(data, length));
      if (h != null) {
        return h;
      }
    }
    String type = FileTypes.detect(data, Math.min(length, FileTypes.HEAD));
    if (depth < MAX_DEPTH && ("zip".equals(type) || "office".equals(type))) {
      try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(data, 0, length))) {
        ZipEntry e;
        while ((e = zip.getNextEntry()) != null) {
          if (e.isDirectory()) {
            continue;
          }
          byte[] buf = new byte[8192];
          java.io.ByteArrayOutputStream member = new java.io.ByteArrayOutputStream();
          int n;
          while ((n = zip.read(buf)) > 0) {
            expanded[0] += n;
            if (expanded[0] > MAX_EXPANDED) {
              return null; // past the bound: what was read is clean; the rest is not opened
            }
            member.write(buf, 0, n);
          }
          byte[] m = member.toByteArray();
          String inner = check(m, m.length, depth + 1, expanded);
          if (inner != null) {
            return inner;
          }
        }
      }
    }
    return null;
  }

  /** The EICAR file: the 68-byte string at the start, followed only by whitespace, 128 bytes at most. */
  static boolean isEicar(byte[] data, int length) {
    if (length < EICAR.length || length > 128) {
      return false;
    }
    for (int i = 0; i < EICAR.length; i++) {
      if (data[i] != EICAR[i]) {
        return false;
      }
    }
    for (int i = EICAR.length; i < length; i++) {
      byte b = data[i];
      if (!(b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == 0x1a)) {
        return false;
      }
    }
    return true;
  }

  static String sha256(byte[] data, int length) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(data, 0, length);
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
