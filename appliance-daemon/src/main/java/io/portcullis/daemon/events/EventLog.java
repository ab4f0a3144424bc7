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
