package io.portcullis.daemon.config;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Writes files so that a reader (or a restart after a crash or a power cut) sees the old content or the new one, never
 * a mix, and a write that returned survives a power cut: data fsync'd before the rename, the directory after it.
 */
public final class AtomicFiles {
  /** Temp files start with this; a crash may leave one behind, and {@link #removeLeftovers} deletes them. */
  static final String TEMP_PREFIX = ".tmp-";

  private AtomicFiles() {
  }

  /** New content written and fsync'd under a temp name: {@link #commit} puts it in place, {@link #discard} drops it. */
  public static final class Prepared {
    private final Path tmp;
    private final Path target;

    private Prepared(Path tmp, Path target) {
      this.tmp = tmp;
      this.target = target;
    }

    /** Renames the temp file over the target and fsyncs the directory; the temp file is gone either way. */
    public void commit() throws IOException {
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
      fsyncDirectory(target.getParent());
    }

    /** Deletes the temp file (the target keeps its old content); never throws. */
    public void discard() {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException e) {
        // a leftover temp file is removed at the next start
      }
    }
  }

  /**
   * Writes {@code data} to a temp file next to {@code target} and fsyncs it, taking the disk space before anything is
   * decided. The file gets {@code perms} (null: the target's, else the umask's). Nothing is left if it fails.
   */
  public static Prepared prepare(Path target, byte[] data, Set<PosixFilePermission> perms0) throws IOException {
    Path abs = target.toAbsolutePath();
    Path dir = abs.getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve(TEMP_PREFIX + abs.getFileName() + "-" + UUID.randomUUID());
    Set<PosixFilePermission> perms = perms0 != null ? perms0
        : Files.exists(abs) ? Files.getPosixFilePermissions(abs) : null;
    try {
      // Created with the final permissions (at most: the umask may take more away), not widened for a moment: a
      // private key must never be readable by others, even while it is being written.
      java.nio.file.attribute.FileAttribute<?>[] attrs = perms == null ? new java.nio.file.attribute.FileAttribute<?>[0]
          : new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions
              .asFileAttribute(perms)};
      try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
          attrs)) {
        ByteBuffer buf = ByteBuffer.wrap(data);
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      if (perms != null) {
        Files.setPosixFilePermissions(tmp, perms);
      }
      return new Prepared(tmp, abs);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  /**
   * Writes {@code data} to {@code target}: temp file, fsync, rename over the target, fsync the directory. The file
   * gets {@code perms} on every write, whatever an older file had (null: the older file's, else the umask's).
   */
  public static void write(Path target, byte[] data, Set<PosixFilePermission> perms) throws IOException {
    prepare(target, data, perms).commit();
  }

  /** Deletes {@code file} if it exists and fsyncs its directory, so that the delete survives a power cut. */
  public static void delete(Path file) throws IOException {
    Path abs = file.toAbsolutePath();
    Files.deleteIfExists(abs);
    fsyncDirectory(abs.getParent());
  }

  /** Makes a rename or delete in {@code dir} durable. */
  public static void fsyncDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Deletes temp files a crash left in {@code dir} (they may hold secrets). */
  public static void removeLeftovers(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        if (p.getFileName().toString().startsWith(TEMP_PREFIX)) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  /** As {@link #removeLeftovers}, in {@code root} and every directory under it (symbolic links not followed). */
  public static void removeLeftoversUnder(Path root) throws IOException {
    if (!Files.isDirectory(root)) {
      return;
    }
    List<Path> dirs;
    try (var walk = Files.walk(root)) {
      dirs = walk.filter(d -> Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    for (Path d : dirs) {
      removeLeftovers(d);
    }
  }
}
