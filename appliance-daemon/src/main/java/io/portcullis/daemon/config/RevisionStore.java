package io.portcullis.daemon.config;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Numbered config revisions in a directory, one file each ({@code 000012.yaml}): a header line with the revision's
 * number, time, author, the config file it replaced ({@code file=}, see {@link CommitStore}) and message, then
 * the config text exactly as committed. Keeps the newest {@link #KEEP}. A file whose header cannot be
 * read is skipped, but its number is never given again.
 */
public final class RevisionStore {
  public static final int KEEP = 50;
  private static final Pattern FILE = Pattern.compile("(\\d{6,9})\\.yaml");
  private static final Pattern HEADER =
      Pattern.compile("#@portcullis revision=(\\d+) time=(\\S+) author=(\\S+)(?: file=(\\S+))? message=(.*)");

  /** A revision's header: the revision and what identified the config file it replaced (null if not recorded). */
  private record Header(Revision revision, String file) {
  }

  private final Path dir;

  public RevisionStore(Path dir) throws IOException {
    this.dir = dir;
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir.toAbsolutePath().getParent());
      Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
    } else if (!Files.getPosixFilePermissions(dir).equals(PosixFilePermissions.fromString("rwx------"))) {
      // Revisions hold the secrets: a directory an older node or an admin's copy left open is closed at start.
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }
    AtomicFiles.removeLeftovers(dir);
  }

  public Path directory() {
    return dir;
  }

  /** Every revision kept, oldest first. */
  public List<Revision> list() throws IOException {
    List<Revision> out = new ArrayList<>();
    for (int n : numbers()) {
      readHeader(n).ifPresent(h -> out.add(h.revision()));
    }
    return out;
  }

  /** The newest revision whose header can be read, if any. */
  public Optional<Revision> latest() throws IOException {
    List<Integer> ns = numbers();
    for (int i = ns.size() - 1; i >= 0; i--) {
      Optional<Header> h = readHeader(ns.get(i));
      if (h.isPresent()) {
        return Optional.of(h.get().revision());
      }
    }
    return Optional.empty();
  }

  /** The number the next revision gets: past every numbered file, readable or not, so none is overwritten. */
  public int nextNumber() throws IOException {
    List<Integer> ns = numbers();
    return ns.isEmpty() ? 1 : ns.get(ns.size() - 1) + 1;
  }

  /** What identified the config file that revision {@code n} replaced, if its header records it. */
  public Optional<String> replacedFile(int n) throws IOException {
    return readHeader(n).map(Header::file);
  }

  /** The config text of revision {@code n}, if it is kept. */
  public Optional<String> text(int n) throws IOException {
    Path p = file(n);
    if (!Files.exists(p)) {
      return Optional.empty();
    }
    String all = Files.readString(p, StandardCharsets.UTF_8);
    int nl = all.indexOf('\n');
    return Optional.of(nl < 0 ? "" : all.substring(nl + 1));
  }

  /** Writes {@code text} as the next revision, durably, and drops revisions beyond the newest {@link #KEEP}. */
  public Revision write(String text, String author, String message) throws IOException {
    return write(nextNumber(), text, author, message, null);
  }

  /**
   * Writes {@code text} as revision {@code next} (from {@link #nextNumber}), recording {@code replacedFile} (null:
   * none); returns once it is on disk for good. Refuses to overwrite a revision.
   */
  Revision write(int next, String text, String author, String message, String replacedFile) throws IOException {
    if (Files.exists(file(next))) {
      throw new IOException("revision " + next + " exists already in " + dir);
    }
    Revision r = new Revision(next, Instant.now(), token(author), oneLine(message));
    String header = "#@portcullis revision=" + r.number() + " time=" + r.time() + " author=" + r.author()
        + (replacedFile == null ? "" : " file=" + replacedFile) + " message=" + r.message() + "\n";
    AtomicFiles.write(file(next), (header + text).getBytes(StandardCharsets.UTF_8),
        PosixFilePermissions.fromString("rw-------")); // revisions keep the secrets the console never shows
    List<Integer> ns = numbers();
    for (int i = 0; i < ns.size() - KEEP; i++) {
      Files.deleteIfExists(file(ns.get(i)));
    }
    return r;
  }

  private Path file(int n) {
    return dir.resolve(String.format("%06d.yaml", n));
  }

  private List<Integer> numbers() throws IOException {
    List<Integer> ns = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Matcher m = FILE.matcher(p.getFileName().toString());
        if (m.matches()) {
          ns.add(Integer.parseInt(m.group(1)));
        }
      }
    }
    ns.sort(Comparator.naturalOrder());
    return ns;
  }

  private Optional<Header> readHeader(int n) throws IOException {
    try (BufferedReader r = Files.newBufferedReader(file(n), StandardCharsets.UTF_8)) {
      String line = r.readLine();
      Matcher m = line == null ? null : HEADER.matcher(line);
      if (m == null || !m.matches() || Integer.parseInt(m.group(1)) != n) {
        return Optional.empty();
      }
      return Optional.of(new Header(new Revision(n, Instant.parse(m.group(2)), m.group(3), m.group(5)),
          m.group(4)));
    } catch (DateTimeParseException | NumberFormatException | java.nio.charset.CharacterCodingException
        | java.nio.file.NoSuchFileException e) {
      return Optional.empty();
    }
  }

  private static String token(String s) {
    String t = s == null || s.isBlank() ? "unknown" : s.replaceAll("\\s+", "_");
    return t.length() > 64 ? t.substring(0, 64) : t;
  }

  private static String oneLine(String s) {
    String t = s == null ? "" : s.replaceAll("[\\r\\n\\t]+", " ").strip();
    return t.length() > 200 ? t.substring(0, 200) : t;
  }
}
