package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** A "*text*" glob is matched by a search: it must agree with the glob's regex everywhere. */
class InfixGlobTest {

  @Test
  void theSearchAgreesWithTheGlobsRegex() {
    String alphabet = "aAbBzZ/.-\n\u0130\u0131\u212Ak";
    Random r = new Random(5);
    int matches = 0;
    for (int i = 0; i < 50_000; i++) {
      String part = random(r, alphabet, 1 + r.nextInt(3));
      String text = random(r, alphabet, r.nextInt(12));
      boolean regex = Globs.compile("*" + part + "*", false).matcher(text).matches();
      assertEquals(regex, Matcher.containsAsciiIgnoreCase(text, part), "*" + part + "* on " + text);
      matches += regex ? 1 : 0;
    }
    assertTrue(matches > 5_000, "matches " + matches);
  }

  private static String random(Random r, String alphabet, int n) {
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return sb.toString();
  }
}
