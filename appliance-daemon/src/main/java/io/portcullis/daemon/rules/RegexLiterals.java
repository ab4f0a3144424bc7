package io.portcullis.daemon.rules;

import java.util.ArrayList;
import java.util.List;

/**
 * The literal runs that every match of a {@code java.util.regex} pattern must contain, read from the pattern's top
 * level (groups, classes and optional characters are skipped), so that a host-less {@code regex:} rule can be filed
 * under one of them. Conservative: anything not understood for sure (a top-level {@code |}, flags other than
 * {@code (?i)}, quoting, escapes with arguments) gives no runs, and the rule is checked for every request.
 */
final class RegexLiterals {
  private RegexLiterals() {
  }

  /** The runs every match contains, or an empty list if the pattern is not understood for sure. */
  static List<String> required(String regex) {
    List<String> runs = new ArrayList<>();
    StringBuilder run = new StringBuilder();
    int i = 0;
    int n = regex.length();
    if (regex.startsWith("(?i)")) {
      i = 4; // ASCII case-insensitive: the index folds case anyway
    }
    while (i < n) {
      char c = regex.charAt(i);
      int next;
      boolean literal;
      char value = c;
      switch (c) {
        case '|' -> {
          return List.of(); // a top-level alternative: no run is required
        }
        case '(' -> {
          if (i + 1 < n && regex.charAt(i + 1) == '?' && !groupConstruct(regex, i + 2)) {
            return List.of(); // inline flags (comments mode, Unicode case…): not understood for sure
          }
          next = skipGroup(regex, i);
          literal = false;
        }
        case '[' -> {
          next = skipClass(regex, i);
          literal = false;
        }
        case '\\' -> {
          if (i + 1 >= n) {
            return List.of();
          }
          char e = regex.charAt(i + 1);
          if (Character.isLetterOrDigit(e)) {
            if ("dDwWsSbBhHvVRXAzZG".indexOf(e) < 0) {
              return List.of(); // \Q…\E, \x41, \u0041, \p{…}, back references, octal: not read here
            }
            literal = false;
          } else {
            literal = true;
            value = e;
          }
          next = i + 2;
        }
        case '.', '^', '$' -> {
          next = i + 1;
          literal = false;
        }
        case ')', ']', '{', '}', '*', '+', '?' -> {
          return List.of(); // a quantifier or closer where an atom belongs: leave it to the regex engine
        }
        default -> {
          next = i + 1;
          literal = true;
        }
      }
      if (next < 0) {
        return List.of();
      }
      // A quantifier after the atom: ?, * and {0,…} make it optional; + keeps one.
      int q = next;
      boolean optional = false;
      boolean quantified = false;
      if (q < n) {
        char qc = regex.charAt(q);
        if (qc == '?' || qc == '*') {
          optional = true;
          quantified = true;
          q++;
        } else if (qc == '+') {
          quantified = true;
          q++;
        } else if (qc == '{') {
          int close = regex.indexOf('}', q);
          if (close < 0) {
            return List.of();
          }
          String min = regex.substring(q + 1, close).split(",", -1)[0].trim();
          if (!min.matches("\\d+")) {
            return List.of();
          }
          optional = Integer.parseInt(min) == 0;
          quantified = true;
          q = close + 1;
        }
        if (quantified && q < n && (regex.charAt(q) == '?' || regex.charAt(q) == '+')) {
          q++; // lazy or possessive
        }
      }
      if (literal && !optional) {
        run.append(value);
      }
      if (!literal || quantified) {
        // The run ends here: after a quantified literal the next character need not follow it directly.
        flush(run, runs);
      }
      i = q;
    }
    flush(run, runs);
    return runs;
  }

  private static void flush(StringBuilder run, List<String> runs) {
    if (run.length() > 0) {
      runs.add(run.toString());
      run.setLength(0);
    }
  }

  /** After "(?": a group construct (non-capturing, look-around, atomic, named), not inline flags. */
  private static boolean groupConstruct(String regex, int i) {
    if (i >= regex.length()) {
      return false;
    }
    char c = regex.charAt(i);
    return c == ':' || c == '=' || c == '!' || c == '>' || c == '<';
  }

  /** The index after the group opened at {@code i}, or -1 if it never closes. */
  private static int skipGroup(String regex, int i) {
    int depth = 0;
    for (int j = i; j < regex.length(); j++) {
      char c = regex.charAt(j);
      if (c == '\\') {
        j++;
      } else if (c == '[') {
        j = skipClass(regex, j) - 1;
        if (j < 0) {
          return -1;
        }
      } else if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return j + 1;
      }
    }
    return -1;
  }

  /** The index after the character class opened at {@code i} (nested classes included), or -1. */
  private static int skipClass(String regex, int i) {
    int depth = 0;
    for (int j = i; j < regex.length(); j++) {
      char c = regex.charAt(j);
      if (c == '\\') {
        j++;
      } else if (c == '[') {
        depth++;
        if (j + 1 < regex.length() && regex.charAt(j + 1) == '^') {
          j++;
        }
        if (j + 1 < regex.length() && regex.charAt(j + 1) == ']') {
          j++; // a ']' first in a class is a member
        }
      } else if (c == ']' && --depth == 0) {
        return j + 1;
      }
    }
    return -1;
  }
}
