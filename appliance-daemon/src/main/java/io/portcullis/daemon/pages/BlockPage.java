package io.portcullis.daemon.pages;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A block page template. Macros: {@code %URL%}, {@code %RULE_NAME%}, {@code %CATEGORY%}, {@code %THREAT%},
 * {@code %CLIENT_IP%}, {@code %USER_NAME%}, {@code %METHOD%}, {@code %MIME_TYPE%}, {@code %DATE%},
 * {@code %SERVER_NAME%}, {@code %APPLICATION%}; every value is HTML-escaped, unknown macros are left as written.
 */
public final class BlockPage {
  private static final Pattern MACRO = Pattern.compile("%([A-Z_]+)%");
  private static final String DEFAULT_RESOURCE = "/io/portcullis/daemon/pages/block.html";
  /** The built-in page. */
  public static final BlockPage DEFAULT = load(DEFAULT_RESOURCE);
  private final String template;

  public BlockPage(String template) {
    this.template = template;
  }

  private static BlockPage load(String resource) {
    try (InputStream in = BlockPage.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing from the jar");
      }
      return new BlockPage(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The page with each known macro replaced by its escaped value (empty when the value is null or absent). */
  public String render(Map<String, String> values) {
    Matcher m = MACRO.matcher(template);
    StringBuilder sb = new StringBuilder(template.length() + 256);
    while (m.find()) {
      String name = m.group(1);
      String value = values.get(name);
      String replacement = KNOWN.contains(name) ? escape(value == null ? "" : value) : m.group();
      m.appendReplacement(sb, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(sb);
    return sb.toString();
  }

  private static final java.util.Set<String> KNOWN = java.util.Set.of("URL", "RULE_NAME", "CATEGORY", "THREAT",
      "CLIENT_IP", "USER_NAME", "METHOD", "MIME_TYPE", "DATE", "SERVER_NAME", "APPLICATION");

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
        case '`' -> sb.append("&#96;");
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
