package io.portcullis.daemon.events;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TrafficEventTest {
  @Test
  void timeIsWrittenExactlyAsInstantToStringWhateverItsPrecision() {
    for (Instant t : new Instant[] {Instant.parse("2026-11-29T14:54:09Z"), Instant.parse("2026-11-29T14:54:09.007Z"),
        Instant.parse("2026-11-29T14:54:09.990Z"), Instant.parse("2026-11-29T14:54:10.100Z"),
        Instant.parse("2026-11-29T14:54:10.123456Z"), Instant.parse("1999-12-31T23:59:59.999Z"),
        Instant.parse("2026-11-29T14:54:09.5Z")}) {
      StringBuilder b = new StringBuilder();
      TrafficEvent.appendTime(b, t);
      assertEquals(t.toString(), b.toString());
    }
  }

  @Test
  void jsonLineEscapesWhatJsonMustAndReadsBackToTheSameValues() {
    String url = "http://x.test/a\"b\\c\u0001d\te\u2028f?q=<script>\u5c71";
    TrafficEvent e = new TrafficEvent(Instant.parse("2026-11-29T14:54:09.994Z"), "n1", "icap", "10.0.0.1",
        "J\u00fcrgen", "GET", url, "x.test", null, "access", "r\"1", "block", null, null, null, 403, 10, 20, 30, 40, 50);
    JsonObject j = new JsonObject(e.jsonLine());
    assertEquals(url, j.getString("url"));
    assertEquals("r\"1", j.getString("rule"));
    assertEquals("J\u00fcrgen", j.getString("user"));
    assertEquals("2026-11-29T14:54:09.994Z", j.getString("time"));
    assertEquals(403, j.getInteger("status"));
  }
}
