package io.portcullis.daemon.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The files beside the config (a keytab, PEM certificates and keys, lists, templates) as the admin API lists and
 * imports them: an appliance's SSH console runs no shell and no scp, so this is how a keytab reaches a node booted
 * from the ISO. A name is a plain file name in the config's directory; the config file itself (changed by commits
 * only), the daemon's own logs and hidden files are not importable. Every file written is 0600 (it may hold a key)
 * and durable (fsync, rename, fsync of the directory).
 */
public final class ConfigDirectory {
  /** A plain file name: no path, not hidden, nothing a shell or a URL would read otherwise. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");

  /** One file as {@code show files} lists it; the content never leaves the node, only its SHA-256. */
  public record Entry(String name, long size, String mode, String sha256, Instant modified) {
  }

  private final Path dir;
  private final String configName;

  /** The directory of {@code configFile}. */
  public ConfigDirectory(Path configFile) {
    Path abs = configFile.toAbsolutePath().normalize();
    this.dir = abs.getParent();
    this.configName = abs.getFileName().toString();
  }

  /** The directory's regular files (links not followed), by name; temp files and hidden ones left out. */
  public List<Entry> list() throws IOException {
    List<Entry> out = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String name = p.getFileName().toString();
        if (!name.startsWith(".") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          out.add(entry(p));
        }
      }
    }
    out.sort(Comparator.comparing(Entry::name));
    return out;
  }

  /** Why {@code name} may not be imported, or null if it may. */
  public String refusal(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      return "a file name is letters, digits, '.', '_' and '-' (at most 128, not starting with '.', no directory)";
    }
    if (name.equals(configName)) {
      return name + " is the config: change it with configure and commit, or load";
    }
    if (ConfigFiles.DAEMON_LOGS.contains(name) || name.startsWith(AtomicFiles.TEMP_PREFIX)) {
      return name + " is the daemon's own";
    }
    Path p = dir.resolve(name);
    if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS)
        && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      return name + " is not a regular file here (a link or a directory): replace it on the node itself";
    }
    return null;
  }

  /**
   * Writes {@code data} as {@code name} (new or replacing it), 0600, durably; its entry. An
   * IllegalArgumentException says why a name or a size is refused ({@code maxSize} bytes at most).
   */
  public Entry put(String name, byte[] data, long maxSize) throws IOException {
    String why = refusal(name);
    if (why != null) {
      throw new IllegalArgumentException(why);
    }
    if (data.length > maxSize) {
      throw new IllegalArgumentException(name + " has " + data.length + " bytes, more than admin.maxFileSize ("
          + maxSize + ")");
    }
    Path p = dir.resolve(name);
    AtomicFiles.write(p, data, PRIVATE);
    return entry(p);
  }

  private static Entry entry(Path p) throws IOException {
    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    String sha;
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
        byte[] buf = new byte[65536];
        for (int n; (n = in.read(buf)) > 0; ) {
          md.update(buf, 0, n);
        }
      }
      sha = HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    } catch (java.nio.file.AccessDeniedException e) {
      sha = ""; // a file the daemon may not read (root's): listed all the same
    }
    return new Entry(p.getFileName().toString(), a.size(), octal(a.permissions()), sha,
        a.lastModifiedTime().toInstant());
  }

  private static String octal(Set<PosixFilePermission> perms) {
    int m = 0;
    for (PosixFilePermission x : perms) {
      m |= 1 << (8 - x.ordinal());
    }
    return String.format("%04o", m);
  }
}
