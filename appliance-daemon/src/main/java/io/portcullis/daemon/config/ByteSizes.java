package io.portcullis.daemon.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Sizes as admins write them: {@code 4096}, {@code 64KiB}, {@code 10MiB}, {@code 1GiB} (also KB/MB/GB as 1000s). */
final class ByteSizes {
  private static final Pattern FORM = Pattern.compile("(\\d{1,15})\\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?");

  private ByteSizes() {
  }

  static long parse(String text) {
    Matcher m = FORM.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("is not a size (write e.g. 4096, 64KiB, 10MiB)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2);
    long factor = switch (unit) {
      case "KiB" -> 1L << 10;
      case "MiB" -> 1L << 20;
      case "GiB" -> 1L << 30;
      case "TiB" -> 1L << 40;
      case "KB" -> 1000L;
      case "MB" -> 1000_000L;
      case "GB" -> 1000_000_000L;
      case "TB" -> 1000_000_000_000L;
      default -> 1L;
    };
    if (n > Long.MAX_VALUE / factor) {
      throw new IllegalArgumentException("is too large");
    }
    return n * factor;
  }
}
