package io.portcullis.daemon.events;

import io.portcullis.daemon.config.EventsConfig;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's bounded on-disk record of traffic events: files of JSON lines ({@code events-NNNNNNNNNN.jsonl}, numbered
 * in order) in one directory. Only the events thread writes; a file is closed at {@code segmentSize} and the oldest
 * files are deleted while the journal is larger than {@code maxSize} or their last event is older than
 * {@code maxAge}. Readers may run at the same time: they read whole files, newest first, and skip a torn last line.
 */
public final class Journal implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Journal.class);
  private static final String PREFIX = "events-";
  private static final String SUFFIX = ".jsonl";

  private final Path dir;
  private volatile EventsConfig.Journal limits;
  private FileChannel current;
  private long currentNumber;
  private long currentSize;
  private long lastForce;
  private long lastRetention;
  private java.time.Instant currentOpened = java.time.Instant.now();
  private boolean torn; // a write failed part-way: the next one starts on a line of its own
  private volatile long totalBytes;

  /** Opens (makes) the journal in {@code dir}; appends to its newest file if it has room. */
  public Journal(Path dir, EventsConfig.Journal limits) throws IOException {
    this.dir = dir;
    this.limits = limits;
    Files.createDirectories(dir);
    List<Path> files = files();
    long total = 0;
    for (Path f : files) {
      total += sizeOf(f);
    }
    totalBytes = total;
    if (!files.isEmpty()) {
      Path last = files.get(files.size() - 1);
      currentNumber = number(last);
      if (Files.size(last) < limits.segmentSize()) {
        open(last);
        currentOpened = Files.readAttributes(last, java.nio.file.attribute.BasicFileAttributes.class).creationTime()
            .toInstant();
        // A crash may have torn the last line: end it, so the next event starts a line of its own.
        if (currentSize > 0 && !endsWithNewline(last)) {
          write(ByteBuffer.wrap(new byte[] {'\n'}));
        }
      }
    }
  }

  /** New limits (a commit): they apply from the next write. */
  public void limits(EventsConfig.Journal limits) {
    this.limits = limits;
  }

  /** Appends events (one JSON line each); rotates and applies the limits as needed. Events thread only. */
  public void append(List<TrafficEvent> events) throws IOException {
    StringBuilder b = startBatch();
    for (TrafficEvent e : events) {
      e.appendJson(b).append('\n'); // into the batch: no String per event
    }
    writeBatch(b);
  }

  /** Appends events already encoded ({@link TrafficEvent#toJson}, one line each, no newline). Events thread only. */
  public void appendLines(List<String> lines) throws IOException {
    StringBuilder b = startBatch();
    for (String line : lines) {
      b.append(line).append('\n');
    }
    writeBatch(b);
  }

  private StringBuilder batch = new StringBuilder(64 * 1024); // events thread only

  /** The batch builder, emptied; after a torn write it begins with the newline that ends the torn line. */
  private StringBuilder startBatch() {
    if (batch.capacity() > 4 * 1024 * 1024) {
      batch = new StringBuilder(64 * 1024); // do not keep a burst's builder
    }
    batch.setLength(0);
    return torn ? batch.append('\n') : batch;
  }

  /** Writes whole lines (a batch, begun with a newline after a torn write). */
  private void writeBatch(StringBuilder b) throws IOException {
    byte[] bytes = b.toString().getBytes(StandardCharsets.UTF_8);
    if (current == null || currentSize + bytes.length > limits.segmentSize() && currentSize > 0) {
      rotate();
    }
    torn = true; // until the whole batch is written
    write(ByteBuffer.wrap(bytes));
    torn = false;
    long now = System.currentTimeMillis();
    if (now - lastForce > 1000) {
      current.force(false); // at most a second of events lost with the power, at one sync per second
      lastForce = now;
    }
    if (now - lastRetention > 60_000) {
      retain();
    }
  }

  /**
   * Once a minute (or an eighth of {@code maxAge}, if shorter), also on a quiet node: a file older than an eighth of {@code maxAge} is closed (so that age
   * limits act on files of a bounded time span), and the limits are applied. Events thread only.
   */
  public void tick() throws IOException {
    if (System.currentTimeMillis() - lastRetention < Math.min(60_000, Math.max(1, limits.maxAge().toMillis() / 8))) {
      return;
    }
    if (current != null && currentSize > 0
        && currentOpened.isBefore(Instant.now().minus(limits.maxAge().dividedBy(8)))) {
      rotate();
    }
    retain();
  }

  /** Applies the size and age limits now (also done at each rotation and once a minute while writing). */
  public synchronized void retain() throws IOException {
    lastRetention = System.currentTimeMillis();
    EventsConfig.Journal l = limits;
    List<Path> files = files();
    long total = 0;
    for (Path f : files) {
      total += sizeOf(f);
    }
    Instant oldest = Instant.now().minus(l.maxAge());
    for (Path f : files) {
      if (number(f) == currentNumber && current != null) {
        break; // never the file being written
      }
      boolean tooOld = lastModified(f).isBefore(oldest);
      if (total <= l.maxSize() && !tooOld) {
        break;
      }
      long size = sizeOf(f);
      if (Files.deleteIfExists(f)) {
        totalBytes -= size;
      }
      total -= size;
      LOG.info("events journal: deleted {} ({})", f.getFileName(), tooOld ? "older than " + l.maxAge() : "over "
          + l.maxSize() + " bytes");
    }
  }

  /**
   * The last {@code limit} events that {@code filter} accepts, oldest first. {@code hint}: a string every accepted
   * event's JSON line contains (null: none), so that most lines are skipped without being parsed.
   */
  public List<TrafficEvent> query(Predicate<TrafficEvent> filter, String hint, Instant since, int limit)
      throws IOException {
    List<TrafficEvent> found = new ArrayList<>();
    List<Path> files = files();
    for (int i = files.size() - 1; i >= 0 && found.size() < limit; i--) {
      Path f = files.get(i);
      if (since != null && i < files.size() - 1 && lastModified(f).isBefore(since)) {
        break; // this file and all older ones end before the window
      }
      List<String> lines;
      try {
        lines = Files.readAllLines(f, StandardCharsets.UTF_8);
      } catch (NoSuchFileException e) {
        continue; // deleted by the limits while we read
      } catch (java.nio.charset.MalformedInputException e) {
        lines = List.of(new String(Files.readAllBytes(f), StandardCharsets.UTF_8).split("\n"));
      }
      for (int j = lines.size() - 1; j >= 0 && found.size() < limit; j--) {
        String line = lines.get(j);
        if (line.isEmpty() || hint != null && !line.contains(hint)) {
          continue;
        }
        TrafficEvent e;
        try {
          e = TrafficEvent.fromJson(new JsonObject(line));
        } catch (RuntimeException bad) {
          continue; // a line torn by a crash
        }
        if (filter.test(e)) { // no early stop on time: an event carries its start, a long tunnel ends much later
          found.add(e);
        }
      }
    }
    Collections.reverse(found);
    return found;
  }

  /** The journal's files, oldest first. */
  public List<Path> files() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> {
        String n = p.getFileName().toString();
        return n.startsWith(PREFIX) && n.endsWith(SUFFIX) && number(p) >= 0;
      }).sorted((a, b) -> Long.compare(number(a), number(b))).toList();
    }
  }

  /** Bytes on disk (kept as files are written and deleted: no directory listing per metrics scrape). */
  public long size() {
    return totalBytes;
  }

  @Override
  public synchronized void close() {
    if (current != null) {
      try {
        current.force(false);
        current.close();
      } catch (IOException e) {
        LOG.warn("events journal: closing: {}", e.toString());
      }
      current = null;
    }
  }

  private synchronized void rotate() throws IOException {
    close();
    currentNumber++;
    open(dir.resolve(String.format("%s%010d%s", PREFIX, currentNumber, SUFFIX)));
    currentOpened = Instant.now();
    torn = false; // a new file starts clean
    retain();
  }

  private void open(Path file) throws IOException {
    current = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    currentSize = current.size();
  }

  private void write(ByteBuffer buf) throws IOException {
    while (buf.hasRemaining()) {
      int n = current.write(buf);
      currentSize += n;
      totalBytes += n;
    }
  }

  private static boolean endsWithNewline(Path f) throws IOException {
    try (FileChannel c = FileChannel.open(f, StandardOpenOption.READ)) {
      ByteBuffer one = ByteBuffer.allocate(1);
      c.read(one, c.size() - 1);
      return one.get(0) == '\n';
    }
  }

  private static long number(Path p) {
    String n = p.getFileName().toString();
    try {
      return Long.parseLong(n.substring(PREFIX.length(), n.length() - SUFFIX.length()));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private static long sizeOf(Path f) {
    try {
      return Files.size(f);
    } catch (IOException e) {
      return 0;
    }
  }

  private static Instant lastModified(Path f) {
    try {
      return Files.getLastModifiedTime(f).toInstant();
    } catch (IOException e) {
      return Instant.now();
    }
  }
}
