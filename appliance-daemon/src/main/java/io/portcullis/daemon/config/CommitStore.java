package io.portcullis.daemon.config;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a commit writes, in which order, and what a start runs. As on Junos, the revision is the commit record: a
 * commit happened if and only if its revision file is on disk. Revision N is committed in four steps, each durable
 * before the next (every rename is preceded by an fsync of the file and followed by one of its directory):
 * <ol>
 * <li>the new text goes to a temp file beside the config file, fsync'd: the space is taken while the commit can
 *     still be refused;</li>
 * <li>for {@code commit confirmed}, the pending file naming N and its deadline (before N: no crash may turn a
 *     commit confirmed into a plain one);</li>
 * <li>revision N, whose header records which config file it replaces ({@code file=}: digest, inode, change time).
 *     Its rename is the commit point;</li>
 * <li>the temp file of step 1 renamed over the config file; then the answer.</li>
 * </ol>
 * A failure before step 3 refuses the commit: temp files deleted, the pending file put back as it was, the old config
 * applied again; nothing on disk names the refused text. A failure at step 4 is logged; the commit stands.
 * <p>
 * At start ({@link #startText}) the newest readable revision R is compared with the config file. Equal: R runs. The
 * file is still the very one R replaced: the commit stopped between steps 3 and 4, so R runs and the file is rewritten
 * ({@link #alignFile}). Otherwise an admin changed the file (even back to an older text: the inode or change time
 * differs): it runs and becomes a new revision. A pending file naming another revision than the one that runs is left
 * from a commit that failed or was superseded, and is deleted. So after a crash anywhere a start runs the last
 * answered revision or, if the crash came between the commit point and the answer, the one being committed.
 */
public final class CommitStore {
  private static final Logger LOG = LoggerFactory.getLogger(CommitStore.class);
  static final String PENDING_FILE = "confirm-pending.properties";
  private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> CONFIG_PERMS =
      PosixFilePermissions.fromString("rw-r-----"); // it may hold password hashes

  private final RevisionStore revisions;
  private final Path configFile;
  private final Path pendingFile;

  /** Commits into {@code revisions} and, if not null, {@code configFile}. */
  public CommitStore(RevisionStore revisions, Path configFile) {
    this.revisions = revisions;
    this.configFile = configFile;
    this.pendingFile = revisions.directory().resolve(PENDING_FILE);
  }

  /** What a start runs: the config's text and where it came from. */
  public record Start(String text, String source) {
  }

  /** The text a start with {@code configFile} runs, reconciled with the revisions in {@code revisionsDir}. */
  public static Start startText(Path configFile, Path revisionsDir) throws IOException {
    String file = Files.readString(configFile, StandardCharsets.UTF_8);
    if (Files.isDirectory(revisionsDir)) {
      RevisionStore store = new RevisionStore(revisionsDir);
      Optional<Revision> latest = store.latest();
      if (latest.isPresent()) {
        int n = latest.get().number();
        Optional<String> text = store.text(n);
        if (text.isPresent() && !text.get().equals(file)
            && store.replacedFile(n).filter(identity(configFile)::equals).isPresent()) {
          return new Start(text.get(), "revision " + n + " in " + revisionsDir + " (committed, but " + configFile
              + " was not rewritten before the daemon stopped)");
        }
      }
    }
    return new Start(file, configFile.toString());
  }

  /** A commit on disk: its revision, and the pending confirm recorded with it (null if none). */
  public record Recorded(Revision revision, CommitManager.PendingConfirm pending) {
  }

  /**
   * Commits {@code text} (steps 1 to 4 above); with {@code confirmBy}, a pending confirm back to {@code previous}.
   * Throws, naming the file and the cause, if the commit could not be recorded: then nothing names it on disk, and
   * the pending file is {@code pendingBefore} again.
   */
  public Recorded record(String text, String author, String message, int previous, Instant confirmBy,
      CommitManager.PendingConfirm pendingBefore) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    String replaced = null;
    AtomicFiles.Prepared file = null;
    if (configFile != null) {
      byte[] old = readIfExists(configFile);
      replaced = old == null ? "none" : identity(configFile);
      if (old == null || !java.util.Arrays.equals(old, bytes)) {
        file = step(configFile, () -> AtomicFiles.prepare(configFile, bytes, CONFIG_PERMS));
      }
    }
    CommitManager.PendingConfirm pending = null;
    Revision rev;
    try {
      int n = revisions.nextNumber();
      if (confirmBy != null) {
        pending = new CommitManager.PendingConfirm(n, previous, confirmBy);
        CommitManager.PendingConfirm p = pending;
        step(pendingFile, () -> {
          writePending(p);
          return null;
        });
      }
      String digest = replaced;
      rev = step(revisions.directory(), () -> revisions.write(n, text, author, message, digest));
    } catch (IOException | RuntimeException e) {
      if (file != null) {
        file.discard();
      }
      if (pending != null) {
        restorePending(pendingBefore);
      }
      throw e;
    }
    if (file != null) {
      try {
        file.commit();
      } catch (IOException e) {
        LOG.error("revision {} is committed but {} could not be rewritten ({}); the next start runs revision {} "
            + "and rewrites it", rev.number(), configFile, e.toString(), rev.number());
      }
    }
    return new Recorded(rev, pending);
  }

  /** At start: makes the config file hold {@code runningText} (the revision in effect) if it does not. */
  public void alignFile(String runningText, int revision) {
    if (configFile == null) {
      return;
    }
    try {
      byte[] bytes = runningText.getBytes(StandardCharsets.UTF_8);
      if (!java.util.Arrays.equals(readIfExists(configFile), bytes)) {
        AtomicFiles.write(configFile, bytes, CONFIG_PERMS);
        LOG.info("{} rewritten with revision {}, the last committed", configFile, revision);
      }
    } catch (IOException e) {
      LOG.error("{} could not be rewritten with revision {} ({}); the next start runs the revision again",
          configFile, revision, e.toString());
    }
  }

  /** The pending confirm on disk: empty if none; an unreadable file is deleted. */
  public Optional<CommitManager.PendingConfirm> readPending() throws IOException {
    Properties props = new Properties();
    try (var in = Files.newBufferedReader(pendingFile, StandardCharsets.ISO_8859_1)) {
      props.load(in);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try {
      return Optional.of(new CommitManager.PendingConfirm(Integer.parseInt(props.getProperty("revision")),
          Integer.parseInt(props.getProperty("previous")), Instant.parse(props.getProperty("deadline"))));
    } catch (RuntimeException e) {
      LOG.warn("ignoring unreadable {}: {}", pendingFile, e.toString());
      deletePending();
      return Optional.empty();
    }
  }

  /** Writes {@code p} as the pending confirm, durably. */
  public void writePending(CommitManager.PendingConfirm p) throws IOException {
    Properties props = new Properties();
    props.setProperty("revision", Integer.toString(p.revision()));
    props.setProperty("previous", Integer.toString(p.previous()));
    props.setProperty("deadline", p.deadline().toString());
    StringWriter out = new StringWriter();
    props.store(out, "commit confirmed: revision reverts to previous at deadline unless confirmed");
    AtomicFiles.write(pendingFile, out.toString().getBytes(StandardCharsets.ISO_8859_1), null);
  }

  /** Deletes the pending confirm, durably: a confirm that a power cut undid would revert a kept commit. */
  public void deletePending() throws IOException {
    AtomicFiles.delete(pendingFile);
  }

  private void restorePending(CommitManager.PendingConfirm before) {
    try {
      if (before == null) {
        deletePending();
      } else {
        writePending(before);
      }
    } catch (IOException e) {
      LOG.error("{} could not be put back ({}); a restart may lose the pending commit confirmed", pendingFile,
          e.toString());
    }
  }

  private interface Step<T> {
    T run() throws IOException;
  }

  /** Runs a step writing {@code where}; its failure says where, and names a full disk as such. */
  private static <T> T step(Path where, Step<T> s) throws IOException {
    try {
      return s.run();
    } catch (IOException e) {
      String why = String.valueOf(e.getMessage());
      if (why.contains("No space left on device") || why.contains("Disk quota exceeded")) {
        throw new IOException("no space left on the disk holding " + where.toAbsolutePath() + " (" + why
            + "): free some space, then commit again", e);
      }
      throw new IOException("cannot write " + where.toAbsolutePath() + ": " + e, e);
    }
  }

  private static byte[] readIfExists(Path p) throws IOException {
    try {
      return Files.readAllBytes(p);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  /**
   * What tells this very file from any other with the same text: the SHA-256 of its content, its inode and change
   * time (which any write, rename or restore over it changes); without a unix file view, the digest alone.
   */
  static String identity(Path file) throws IOException {
    String digest;
    try {
      digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try {
      Object ino = Files.getAttribute(file, "unix:ino");
      var ctime = (java.nio.file.attribute.FileTime) Files.getAttribute(file, "unix:ctime");
      return digest + "/" + ino + "/" + ctime.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      return digest;
    }
  }
}
