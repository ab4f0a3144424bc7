package io.portcullis.daemon.rules;

import java.util.regex.Pattern;

/** Shell-style patterns ({@code *} any run, {@code ?} one character) as regexes. */
final class Globs {
  private Globs() {
  }

  static Pattern compile(String glob, boolean caseSensitive) {
    StringBuilder sb = new StringBuilder(glob.length() + 8);
    StringBuilder literal = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          sb.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        sb.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      sb.append(Pattern.quote(literal.toString()));
    }
    return Pattern.compile(sb.toString(), (caseSensitive ? 0 : Pattern.CASE_INSENSITIVE) | Pattern.DOTALL);
  }
}
