package io.portcullis.daemon.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.portcullis.daemon.config.EventsConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * events.maxQueued bounds the heap of events waiting for a stalled writer (a slow disk), by their size, not their
 * count: long URLs fill it sooner. Past it new events are dropped and counted; once written, the room is back.
 */
class EventsQueueTest {
  @TempDir
  Path dir;

  @Test
  void eventsPastMaxQueuedAreDroppedWhileTheWriterIsStalled() throws Exception {
    long max = 1 << 20;
    String url = "http://long.test/" + "x".repeat(10_000);
    int weight = event(url).weight();
    int fit = (int) (max / weight);
    try (Events events = new Events(dir, new SimpleMeterRegistry())) {
      events.configure(new EventsConfig(new EventsConfig.Journal(true, 64L << 20, Duration.ofDays(30), 16L << 20),
          List.of(), max), dir, "n1");
      synchronized (events.writeLock) { // the writer waits here, as behind a disk that does not answer
        for (int i = 0; i < 300; i++) {
          events.publish(event(url));
        }
        assertEquals(300 - fit, events.dropped(), "events that fit in " + max + " bytes at " + weight + " each");
      }
      events.flushed();
      assertEquals(fit, events.query(EventFilter.ALL, 1000).size(), "the events that fitted were written");
      events.publish(event(url));
      assertEquals(300 - fit, events.dropped(), "room again once written");
    }
  }

  private static TrafficEvent event(String url) {
    return new TrafficEvent(Instant.now(), "n1", "proxy", "10.0.0.1", null, "GET", url, "long.test", null, null,
        null, "allow", null, null, null, 200, 0, 10, 0, 1, 2);
  }
}
