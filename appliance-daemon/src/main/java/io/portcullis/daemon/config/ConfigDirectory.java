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
 * from the ISO. A name is a plain file name in the config's directory. Not importable: what the daemon itself reads
 * outside commits (the config, logback.xml, seed.env: each would change the node with no commit to check or roll
 * back), its logs, hidden files, and a file the config in effect names (import under a new name, set the key to it
 * and commit: the commit checks it, and rollback returns to the old one). Every file written is 0600 (it may hold a
 * key) and durable (fsync, rename, fsync of the directory). seed.env is not listed (it may hold a password).
 */
public final class ConfigDirectory {
  /** A plain file name: no path, not hidden, nothing a shell or a URL would read otherwise. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");
  /** What the daemon and its start read from the config's directory, outside any commit. */
  private static final Set<String> DAEMONS = Set.of("logback.xml", "seed.env");

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
        if (!name.startsWith(".") && !name.equals("seed.env") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          out.add(entry(p, null));
        }
      }
    }
    out.sort(Comparator.comparing(Entry::name));
    return out;
  }

  /** Why {@code name} may not be imported while the config in effect names {@code inUse} (file → key); null: it may. */
  public String refusal(String name, java.util.Map<Path, String> inUse) {
    if (name == null || !NAME.matcher(name).matches()) {
      return "a file name is letters, digits, '.', '_' and '-' (at most 128, not starting with '.', no directory)";
    }
    if (name.equals(configName)) {
      return name + " is the config: change it with configure and commit, or load";
    }
    if (ConfigFiles.DAEMON_LOGS.contains(name) || DAEMONS.contains(name)) {
      return name + " is the daemon's own (read outside commits): change it on the node itself";
    }
    Path p = dir.resolve(name);
    String key = inUse.get(p.normalize());
    if (key != null) {
      return name + " is in use (" + key + "): import the new one under another name, set " + key
          + " to it and commit";
    }
    if (Files.isSymbolicLink(p) || Files.exists(p, LinkOption.NOFOLLOW_LINKS)
        && !Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      return name + " is not a regular file here (a link or a directory): replace it on the node itself";
    }
    return null;
  }

  /**
   * Writes {@code data} as {@code name} (new or replacing it), 0600, durably; its entry. An
   * IllegalArgumentException says why a name or a size is refused ({@code maxSize} bytes at most, not a file
   * {@code active}, the config in effect, names).
   */
  public Entry put(String name, byte[] data, long maxSize, Config active) throws IOException {
    String why = refusal(name, ConfigFiles.of(dir).named(active));
    if (why != null) {
      throw new IllegalArgumentException(why);
    }
    if (data.length > maxSize) {
      throw new IllegalArgumentException(name + " has " + data.length + " bytes, more than admin.maxFileSize ("
          + maxSize + ")");
    }
    Path p = dir.resolve(name);
    AtomicFiles.write(p, data, PRIVATE);
    return entry(p, data); // the hash of what this call wrote, whatever a call beside it writes next
  }

  /** {@code p}'s entry; its hash from {@code data} when given, else from the file. */
  private static Entry entry(Path p, byte[] data) throws IOException {
    PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    String sha;
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      if (data != null) {
        md.update(data);
      } else {
        try (var in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
          byte[] buf = new byte[65536];
          for (int n; (n = in.read(buf)) > 0; ) {
            md.update(buf, 0, n);
          }
        }
      }
      sha = HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    } catch (java.nio.file.AccessDeniedException e) {
      sha = ""; // a file the daemon may not read (root's): listed all the same
    }
    return new Entry(p.getFileName().toString(), data != null ? data.length : a.size(), octal(a.permissions()), sha,
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
