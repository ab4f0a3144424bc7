package io.portcullis.daemon.pages;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The page a blocked user sees: a template with {@code {{url}}}, {@code {{rule}}}, {@code {{host}}},
 * {@code {{client}}}, {@code {{user}}}, {@code {{node}}}, {@code {{time}}}; every value is HTML-escaped.
 */
public final class BlockPage {
  private static final Pattern MACRO = Pattern.compile("\\{\\{([a-z]+)}}");
  private static final String DEFAULT_RESOURCE = "/io/portcullis/daemon/pages/block.html";
  private final String template;

  public BlockPage(String template) {
    this.template = template;
  }

  /** The embedded default template. */
  public static BlockPage defaultPage() {
    try (InputStream in = BlockPage.class.getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(DEFAULT_RESOURCE + " is missing from the jar");
      }
      return new BlockPage(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The page with macros replaced by the escaped values; unknown macros become empty. */
  public String render(Map<String, String> values) {
    Matcher m = MACRO.matcher(template);
    StringBuilder sb = new StringBuilder(template.length() + 256);
    while (m.find()) {
      String v = values.get(m.group(1));
      m.appendReplacement(sb, Matcher.quoteReplacement(escape(v == null ? "" : v)));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  /** HTML-escapes text for element content and quoted attributes. */
  public static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '&' -> sb.append("&amp;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        case '/' -> sb.append("&#47;");
        case '`' -> sb.append("&#96;");
        case '=' -> sb.append("&#61;");
        default -> {
          if (c < 0x20 && c != '\t' && c != '\n') {
            sb.append("&#").append((int) c).append(';');
          } else {
            sb.append(c);
          }
        }
      }
    }
    return sb.toString();
  }
}
