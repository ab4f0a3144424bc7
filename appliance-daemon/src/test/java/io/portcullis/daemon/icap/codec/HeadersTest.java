package io.portcullis.daemon.icap.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HeadersTest {

  @Test
  void hasTokenFindsAWholeItemOfACommaSeparatedValueInAnyFieldOfThatName() {
    assertTrue(Headers.of("Allow", "204").hasToken("Allow", "204"));
    assertTrue(Headers.of("allow", " trailers ,\t204 ").hasToken("Allow", "204"));
    assertTrue(Headers.of("Allow", "trailers", "Allow", "206, 204").hasToken("ALLOW", "204"));
    assertTrue(Headers.of("Connection", "Keep-Alive, CLOSE").hasToken("Connection", "close"));
    assertFalse(Headers.of("Allow", "2045").hasToken("Allow", "204"));
    assertFalse(Headers.of("Allow", "1204, 20 4").hasToken("Allow", "204"));
    assertFalse(Headers.of("Allow", "").hasToken("Allow", "204"));
    assertFalse(Headers.of("X-Allow", "204").hasToken("Allow", "204"));
    assertFalse(Headers.of("Allow", ",,").hasToken("Allow", "204"));
  }

  @Test
  void hasTokenAgreesWithSplittingOnCommasAndTrimming() {
    // The split-free scan against what it replaced (split on commas, trim, compare without case).
    Random r = new Random(7);
    String[] pieces = {"204", "206", " ", "\t", ",", "trailers", "2", "04", "20", "x"};
    for (int i = 0; i < 20_000; i++) {
      StringBuilder v = new StringBuilder();
      for (int k = r.nextInt(6); k > 0; k--) {
        v.append(pieces[r.nextInt(pieces.length)]);
      }
      String value = v.toString();
      boolean expected = Arrays.stream(value.split(",")).anyMatch(p -> p.trim().equalsIgnoreCase("204"));
      assertEquals(expected, Headers.of("Allow", value).hasToken("Allow", "204"), "\"" + value + "\"");
    }
  }
}
