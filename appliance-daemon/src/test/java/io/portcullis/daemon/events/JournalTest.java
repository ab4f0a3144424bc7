package io.portcullis.daemon.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.EventsConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {
  private static final long SEGMENT = 64 * 1024;

  static TrafficEvent event(int i, String user, String action, Instant time) {
    return new TrafficEvent(time, "n1", "proxy", "10.0.0." + (i % 250 + 1), user, "GET",
        "http://site" + i + ".example.com/path?q=" + i, "site" + i + ".example.com", null, "access", "rule" + (i % 7),
        action, null, "text/html", null, 200, 0, 1000 + i, 10, 20, 30);
  }

  @Test
  void eventsComeBackNewestLastAndFilteredAcrossSegments(@TempDir Path dir) throws Exception {
    try (Journal j = new Journal(dir, new EventsConfig.Journal(true, 100 * SEGMENT, Duration.ofDays(30), SEGMENT))) {
      Instant t0 = Instant.parse("2026-11-29T08:00:00Z");
      for (int batch = 0; batch < 20; batch++) {
        List<TrafficEvent> b = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          int n = batch * 100 + i;
          b.add(event(n, n % 10 == 0 ? "alice" : "bob", n % 3 == 0 ? "block" : "allow", t0.plusSeconds(n)));
        }
        j.append(b);
      }
      assertTrue(j.files().size() > 3, "rotated at the segment size: " + j.files());
      List<TrafficEvent> last = j.query(EventFilter.ALL, null, null, 5);
      assertEquals(List.of(1995, 1996, 1997, 1998, 1999),
          last.stream().map(e -> (int) (e.bytesOut() - 1000)).toList());
      EventFilter alice = new EventFilter(null, "alice", null, "block", null, null, null, null, null, null, null);
      List<TrafficEvent> a = j.query(alice, alice.hint(), null, 1000);
      assertEquals(67, a.size()); // n divisible by 30 below 2000
      assertTrue(a.stream().allMatch(e -> e.user().equals("alice") && e.action().equals("block")));
      EventFilter since = new EventFilter(null, null, "example.com", null, null, null, null, null, null,
          t0.plusSeconds(1990), null);
      assertEquals(10, j.query(since, since.hint(), since.since(), 1000).size());
    }
  }

  @Test
  void oldestFilesGoPastTheSizeLimitAndTheAgeLimit(@TempDir Path dir) throws Exception {
    try (Journal j = new Journal(dir, new EventsConfig.Journal(true, 4 * SEGMENT, Duration.ofDays(1), SEGMENT))) {
      for (int batch = 0; batch < 60; batch++) {
        List<TrafficEvent> b = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          b.add(event(batch * 50 + i, "u", "allow", Instant.now()));
        }
        j.append(b);
      }
      assertTrue(j.size() <= 4 * SEGMENT + SEGMENT, "size " + j.size() + " stays near maxSize");
      List<Path> files = j.files();
      assertTrue(files.size() >= 2);
      // The newest event is still there; the oldest are gone.
      List<TrafficEvent> all = j.query(EventFilter.ALL, null, null, 100_000);
      assertEquals(2999, all.get(all.size() - 1).bytesOut() - 1000);
      assertTrue(all.get(0).bytesOut() - 1000 > 0);
      // A file last written two days ago goes at the next retention pass.
      Path old = files.get(0);
      Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(2))));
      j.retain();
      assertTrue(Files.notExists(old));
    }
  }

  @Test
  void aLineTornByACrashIsSkippedAndTheNextEventStartsItsOwnLine(@TempDir Path dir) throws Exception {
    EventsConfig.Journal limits = new EventsConfig.Journal(true, 100 * SEGMENT, Duration.ofDays(30), SEGMENT);
    try (Journal j = new Journal(dir, limits)) {
      j.append(List.of(event(1, "u", "allow", Instant.now())));
    }
    Path f = Files.list(dir).findFirst().orElseThrow();
    Files.writeString(f, "{\"time\":\"2026-11-29T08:0", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    try (Journal j = new Journal(dir, limits)) {
      j.append(List.of(event(2, "u", "block", Instant.now())));
      List<TrafficEvent> all = j.query(EventFilter.ALL, null, null, 10);
      assertEquals(List.of("allow", "block"), all.stream().map(TrafficEvent::action).toList());
    }
  }

  @Test
  void sinceFindsLaterEventsBehindALongTunnelsEarlierStart(@TempDir Path dir) throws Exception {
    try (Journal j = new Journal(dir, new EventsConfig.Journal(true, 100 * SEGMENT, Duration.ofDays(30), SEGMENT))) {
      Instant t0 = Instant.parse("2026-11-29T08:00:00Z");
      // Written in the order they end: a tunnel that began at t0+10 ends between two short requests.
      j.append(List.of(event(1, "u", "allow", t0.plusSeconds(100)), event(2, "u", "allow", t0.plusSeconds(10)),
          event(3, "u", "allow", t0.plusSeconds(101))));
      EventFilter since = new EventFilter(null, null, null, null, null, null, null, null, null, t0.plusSeconds(50),
          null);
      assertEquals(List.of(1, 3), j.query(since, since.hint(), since.since(), 10).stream()
          .map(e -> (int) (e.bytesOut() - 1000)).toList());
    }
  }

  @Test
  void aQuietNodesOnlyFileIsClosedAndDeletedOnceOlderThanMaxAge(@TempDir Path dir) throws Exception {
    try (Journal j = new Journal(dir, new EventsConfig.Journal(true, 100 * SEGMENT, Duration.ofMillis(80),
        SEGMENT))) {
      j.append(List.of(event(1, "u", "allow", Instant.now())));
      Path first = j.files().get(0);
      Thread.sleep(200); // older than maxAge: no new event comes
      j.tick();
      assertTrue(Files.notExists(first), "the aged file is gone: " + j.files());
      assertEquals(List.of(), j.query(EventFilter.ALL, null, null, 10));
      assertEquals(0, j.size());
    }
  }

  @Test
  void anyTextSurvivesTheJournalUnchanged(@TempDir Path dir) throws Exception {
    String hostile = "http://x.test/\"quoted\"\\back\nline\r\t\u0001\u2028 caf\u00e9 \u5c71\ud83d\ude00";
    TrafficEvent e = new TrafficEvent(Instant.parse("2026-11-29T08:00:00.123Z"), "n\"1", "icap", "::1",
        "J\u00fcrgen \\ M\u00fcller", "GET", hostile, "x.test", "c", "access", "r=1|2", "block", "Eicar \"x\"",
        "text/html", "zip", 403, 1, 2, 3, 4, 5);
    try (Journal j = new Journal(dir, new EventsConfig.Journal(true, 100 * SEGMENT, Duration.ofDays(30), SEGMENT))) {
      j.append(List.of(e));
      assertEquals(List.of(e), j.query(EventFilter.ALL, null, null, 10));
    }
    assertEquals(e, TrafficEvent.fromJson(e.toJson()));
  }

  @Test
  void clientFiltersTakeAddressesAndCidrs() {
    TrafficEvent e = event(9, "u", "allow", Instant.now()); // client 10.0.0.10
    assertTrue(new EventFilter("10.0.0.10", null, null, null, null, null, null, null, null, null, null).test(e));
    assertTrue(new EventFilter("10.0.0.0/24", null, null, null, null, null, null, null, null, null, null).test(e));
    assertTrue(!new EventFilter("10.0.1.0/24", null, null, null, null, null, null, null, null, null, null).test(e));
    assertEquals("client 10.0.0/8 is not an address or a CIDR",
        new EventFilter("10.0.0/8", null, null, null, null, null, null, null, null, null, null).problem());
  }
}
