package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class RegexLiteralsTest {

  @Test
  void requiredRunsAreReadFromTheTopLevelOnly() {
    assertEquals(List.of("/track"), RegexLiterals.required("/track"));
    assertEquals(List.of("/p", "x"), RegexLiterals.required("/p[0-9]+x"));
    assertEquals(List.of("a", "c"), RegexLiterals.required("ab?c"));
    assertEquals(List.of("ab", "c"), RegexLiterals.required("ab+c"));
    assertEquals(List.of("a", "d"), RegexLiterals.required("ab{0,3}d"));
    assertEquals(List.of("ab", "d"), RegexLiterals.required("ab{2}d"));
    assertEquals(List.of("tr", "ck"), RegexLiterals.required("tr(a|e)ck"));
    assertEquals(List.of(".gif"), RegexLiterals.required("\\.gif$"));
    assertEquals(List.of("ads/"), RegexLiterals.required("(?i)ads/"));
    assertEquals(List.of("x", "y"), RegexLiterals.required("x[]|a]y"));
    assertEquals(List.of("id=", "&"), RegexLiterals.required("id=\\d+&"));
    assertEquals(List.of("a", "b"), RegexLiterals.required("a(?=zz)b"));
  }

  @Test
  void whatIsNotUnderstoodForSureGivesNoRun() {
    for (String r : List.of("a|b", "abc|", "(?x)a b c", "(?iu)abc", "\\Qabc\\E", "\\x41bc", "\\u0041bc",
        "\\p{L}bc", "(a)\\1bc", "a(?i)bc", "abc\\")) {
      assertEquals(List.of(), RegexLiterals.required(r), r);
    }
  }

  @Test
  void everyMatchContainsEveryRequiredRun() {
    // Random patterns from pieces, random texts built of the same pieces: whenever the pattern is found in a text,
    // every run read from the pattern is in that text.
    String[] atoms = {"a", "b", "ab", "/", "\\.", "x", "[ab]", "(a|b)", ".", "\\d", "(?:xa)", "[]b]", "(?=a)"};
    String[] quantifiers = {"", "", "", "?", "*", "+", "{0,2}", "{1,2}", "??", "+?"};
    String[] text = {"a", "b", "x", "/", ".", "1", "]", "xa"};
    Random r = new Random(7);
    int found = 0;
    for (int p = 0; p < 3000; p++) {
      StringBuilder re = new StringBuilder();
      for (int k = 0, n = 1 + r.nextInt(5); k < n; k++) {
        re.append(atoms[r.nextInt(atoms.length)]).append(quantifiers[r.nextInt(quantifiers.length)]);
      }
      Pattern compiled = Pattern.compile(re.toString(), Pattern.DOTALL);
      List<String> runs = RegexLiterals.required(re.toString());
      for (int t = 0; t < 40; t++) {
        StringBuilder s = new StringBuilder();
        for (int k = 0, n = r.nextInt(10); k < n; k++) {
          s.append(text[r.nextInt(text.length)]);
        }
        if (compiled.matcher(s).find()) {
          found++;
          for (String run : runs) {
            assertTrue(s.indexOf(run) >= 0, re + " found in " + s + " without " + run);
          }
        }
      }
    }
    assertTrue(found > 10_000, "found " + found);
  }
}
