package io.portcullis.daemon.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's access log in Squid's native format, so that SARG, Lightsquid and other Squid log analyzers read it:
 * {@code time.ms elapsed client code/status bytes method URL user hierarchy/peer type}. Traffic threads only enqueue;
 * one daemon thread per file appends in batches. A file moved away (logrotate) is reopened at its path within a
 * second. When the lines waiting take more than proxy.accessLogMaxQueued of heap, new ones are dropped and counted: a
 * slow disk never slows traffic, nor grows the heap. One writer per path for the daemon's life, so commits that keep
 * the path keep the writer.
 */
public final class AccessLog {
  private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
  private static final ConcurrentHashMap<Path, AccessLog> OPEN = new ConcurrentHashMap<>();

  private final Path path;
  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong size = new AtomicLong(); // heap of the lines waiting, about
  private volatile long maxQueued = 16L << 20;
  private final AtomicLong dropped = new AtomicLong();

  private AccessLog(Path path) {
    this.path = path;
    Thread t = new Thread(this::run, "portcullis-access-log");
    t.setDaemon(true);
    t.start();
  }

  /** The writer for {@code path} (made on first use), its queue bounded by {@code maxQueued} bytes from now on. */
  static AccessLog at(Path path, long maxQueued) {
    AccessLog log = OPEN.computeIfAbsent(path.toAbsolutePath().normalize(), AccessLog::new);
    log.maxQueued = maxQueued;
    return log;
  }

  private static long weight(String line) {
    return 40L + line.length();
  }

  /**
   * One line. {@code code}: Squid's result code (TCP_MISS, TCP_DENIED, TCP_TUNNEL, NONE_NONE); {@code peer}: the
   * origin's address, or null for HIER_NONE; {@code type}: the response's Content-Type, or null.
   */
  public void add(long startMillis, long elapsedMillis, String client, String code, int status, long bytes, String method,
      String url, String user, String peer, String type) {
    if (size.get() > maxQueued) {
      dropped.incrementAndGet();
      return;
    }
    StringBuilder b = new StringBuilder(160);
    b.append(startMillis / 1000).append('.');
    long ms = startMillis % 1000;
    b.append(ms < 100 ? (ms < 10 ? "00" : "0") : "").append(ms).append(' ');
    String e = Long.toString(elapsedMillis);
    b.append(" ".repeat(Math.max(0, 6 - e.length()))).append(e).append(' ');
    b.append(field(client)).append(' ').append(code).append('/').append(status < 0 ? "000" : status).append(' ')
        .append(bytes).append(' ').append(field(method)).append(' ').append(field(url)).append(' ')
        .append(user == null || user.isEmpty() ? "-" : encodeUser(user)).append(' ')
        .append(peer == null ? "HIER_NONE/-" : "HIER_DIRECT/" + peer).append(' ')
        .append(type == null || type.isEmpty() ? "-" : field(mime(type))).append('\n');
    String line = b.toString();
    size.addAndGet(weight(line));
    queue.add(line);
  }

  /** Lines dropped because the queue was full. */
  long dropped() {
    return dropped.get();
  }

  /** A field without spaces or controls, as the format needs one token per field. */
  private static String field(String s) {
    if (s == null || s.isEmpty()) {
      return "-";
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= 0x20 || c == 0x7f) {
        if (b == null) {
          b = new StringBuilder(s.length() + 8).append(s, 0, i);
        }
        b.append('%').append(String.format(Locale.ROOT, "%02X", (int) c));
      } else if (b != null) {
        b.append(c);
      }
    }
    return b == null ? s : b.toString();
  }

  /** Squid URL-encodes user names in the log (a space would split the field). */
  private static String encodeUser(String user) {
    return java.net.URLEncoder.encode(user, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String mime(String contentType) {
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).strip();
  }

  private void run() {
    FileChannel ch = null;
    long lastCheck = 0;
    long reportedDrops = 0;
    while (true) {
      try {
        if (ch == null || System.nanoTime() - lastCheck > 1_000_000_000L) {
          lastCheck = System.nanoTime();
          if (ch != null && !Files.exists(path)) {
            ch.close(); // moved away by logrotate: start a new file at the path
            ch = null;
          }
          if (ch == null) {
            Files.createDirectories(path.toAbsolutePath().getParent());
            ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
          }
        }
        StringBuilder batch = new StringBuilder(64 * 1024);
        String line;
        while (batch.length() < 1 << 20 && (line = queue.poll()) != null) {
          size.addAndGet(-weight(line));
          batch.append(line);
        }
        if (batch.length() > 0) {
          ByteBuffer buf = ByteBuffer.wrap(batch.toString().getBytes(StandardCharsets.UTF_8));
          while (buf.hasRemaining()) {
            ch.write(buf);
          }
        }
        long d = dropped.get();
        if (d > reportedDrops) {
          LOG.warn("access log {}: {} lines dropped (the disk is slower than the traffic)", path, d - reportedDrops);
          reportedDrops = d;
        }
        if (queue.isEmpty()) {
          Thread.sleep(50);
        }
      } catch (IOException e) {
        LOG.error("access log {}: {}; retrying in 5 s", path, e.toString());
        ch = null;
        try {
          Thread.sleep(5000);
        } catch (InterruptedException ie) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
