package io.portcullis.daemon.events;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Traffic events on their way to the log: traffic threads only enqueue (never block, never wake anyone); one daemon
 * thread writes them out every 50 ms, many lines per log call (each line carries its own time), so that even an
 * unbuffered console costs one write per batch. When more than {@code capacity} wait, new ones are dropped and
 * counted — a slow disk never slows traffic.
 */
public final class EventLog {
  /** The latest events of every event log, numbered, for {@code show events} (the writer threads fill it). */
  public static final Recent RECENT = new Recent(10_000);

  /** A ring of the last lines written, each with its number (1, 2, ...). */
  public static final class Recent {
    private final String[] ring;
    private long next = 1; // the number the next line gets

    Recent(int size) {
      this.ring = new String[size];
    }

    synchronized void add(String line) {
      ring[(int) (next % ring.length)] = line;
      next++;
    }

    /** Lines numbered after {@code after} (at most {@code limit}, the oldest kept first); -1: the last {@code limit}. */
    public synchronized Page after(long after, int limit) {
      long oldest = Math.max(1, next - ring.length);
      long from = after < 0 ? Math.max(oldest, next - limit) : Math.max(oldest, after + 1);
      long to = Math.min(next, from + limit);
      java.util.List<String> lines = new java.util.ArrayList<>();
      for (long n = from; n < to; n++) {
        lines.add(ring[(int) (n % ring.length)]);
      }
      return new Page(lines, to - 1, after >= 0 && from > after + 1 ? from - after - 1 : 0);
    }
  }

  /** Some event lines, the number of the last one, and how many were missed (overwritten before they were read). */
  public record Page(java.util.List<String> lines, long last, long missed) {
  }

  private final Logger log;
  private final ConcurrentLinkedQueue<String> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger size = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  private final int capacity;

  public EventLog(String loggerName, int capacity) {
    this.log = LoggerFactory.getLogger(loggerName);
    this.capacity = capacity;
    Thread writer = new Thread(this::run, "portcullis-events-" + loggerName);
    writer.setDaemon(true);
    writer.start();
  }

  /** True when events are logged at all (the logger is enabled): build them only then. */
  public boolean enabled() {
    return log.isInfoEnabled();
  }

  /** Queues one event line. */
  public void add(String line) {
    if (size.incrementAndGet() > capacity) {
      size.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.add(java.time.Instant.now().toString() + ' ' + line);
  }

  /** Events dropped because the queue was full. */
  public long dropped() {
    return dropped.get();
  }

  private void run() {
    long reportedDrops = 0;
    while (true) {
      String line;
      StringBuilder batch = new StringBuilder(64 * 1024);
      int n = 0;
      while ((line = queue.poll()) != null) {
        size.decrementAndGet();
        RECENT.add(line);
        if (n++ > 0) {
          batch.append('\n');
        }
        batch.append(line);
        if (batch.length() > 60 * 1024) {
          log.info(batch.toString());
          batch.setLength(0);
          n = 0;
        }
      }
      if (n > 0) {
        log.info(batch.toString());
      }
      long d = dropped.get();
      if (d != reportedDrops) {
        log.warn("{} events dropped: the log could not keep up", d - reportedDrops);
        reportedDrops = d;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      }
    }
  }
}
