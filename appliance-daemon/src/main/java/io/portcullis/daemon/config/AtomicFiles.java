package io.portcullis.daemon.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import java.util.UUID;

/** Writes files so that a reader (or a restart after a crash) sees the old content or the new one, never a mix. */
public final class AtomicFiles {
  /** Temp files start with this; a crash may leave one behind, and {@link #removeLeftovers} deletes them. */
  static final String TEMP_PREFIX = ".tmp-";

  private AtomicFiles() {
  }

  /**
   * Writes {@code data} to {@code target}: temp file, fsync, rename over the target, fsync the directory. The file
   * gets {@code perms} on every write, whatever an older file had (null: the older file's, else the umask's).
   */
  public static void write(Path target, byte[] data, Set<PosixFilePermission> perms0) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-" + UUID.randomUUID());
    Set<PosixFilePermission> perms = perms0 != null ? perms0
        : Files.exists(target) ? Files.getPosixFilePermissions(target) : null;
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
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    fsyncDirectory(dir);
  }

  /** Makes a rename or delete in {@code dir} durable. */
  static void fsyncDirectory(Path dir) throws IOException {
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
}
