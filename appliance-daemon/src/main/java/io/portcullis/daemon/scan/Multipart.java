package io.portcullis.daemon.scan;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The parts of a {@code multipart/*} body (RFC 2046, 7578), so that each uploaded file is scanned from its own first
 * byte: the built-in EICAR check and hash lists, and clamd's file-type and hash signatures, only see a file whole.
 * Lenient as servers are (LF alone ends a line; a part without headers is a part), and never a reason to skip a scan:
 * what it cannot read gives no parts, and the whole body is scanned anyway.
 */
public final class Multipart {
  /** One part's content: {@code data[offset, offset + length)}, and its file name if it declares one. */
  public record Part(int offset, int length, String fileName) {
  }

  private Multipart() {
  }

  /** The boundary of a {@code multipart/*} Content-Type (a token or a quoted string), or null if it is not one. */
  public static String boundary(String contentType) {
    if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/")) {
      return null;
    }
    java.util.regex.Matcher m = BOUNDARY.matcher(contentType);
    if (!m.find()) {
      return null;
    }
    String v = m.group(1) != null ? m.group(1) : m.group(2);
    return v.isEmpty() || v.length() > 200 ? null : v;
  }

  private static final java.util.regex.Pattern BOUNDARY =
      java.util.regex.Pattern.compile("(?i);\\s*boundary\\s*=\\s*(?:\"([^\"]*)\"|([^;\\s]+))");

  /** The parts of {@code data[0, length)} delimited by {@code boundary}, at most {@code max}; empty if none. */
  public static List<Part> parts(byte[] data, int length, String boundary, int max) {
    byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    List<Part> parts = new ArrayList<>();
    int at = indexOf(data, 0, length, delimiter);
    while (at >= 0 && parts.size() < max) {
      int after = at + delimiter.length;
      if (after + 1 < length && data[after] == '-' && data[after + 1] == '-') {
        break; // the close delimiter
      }
      int headStart = lineEnd(data, after, length);
      if (headStart < 0) {
        break;
      }
      int next = indexOf(data, headStart, length, delimiter);
      int end = next < 0 ? length : next; // a body cut short: its last part runs to the end
      int contentStart = headersEnd(data, headStart, end);
      int contentEnd = end;
      if (next >= 0) { // the line break before a delimiter belongs to it
        if (contentEnd > contentStart && data[contentEnd - 1] == '\n') {
          contentEnd--;
        }
        if (contentEnd > contentStart && data[contentEnd - 1] == '\r') {
          contentEnd--;
        }
      }
      if (contentStart >= 0 && contentEnd >= contentStart) {
        String headers = new String(data, headStart, contentStart - headStart, StandardCharsets.ISO_8859_1);
        parts.add(new Part(contentStart, contentEnd - contentStart, fileName(headers)));
      }
      at = next;
    }
    return parts;
  }

  /** The index after the line break that ends the line at {@code from}, or -1. */
  private static int lineEnd(byte[] data, int from, int length) {
    for (int i = from; i < length; i++) {
      if (data[i] == '\n') {
        return i + 1;
      }
    }
    return -1;
  }

  /** Where a part's content starts (after its headers' empty line), or -1 if the headers never end. */
  private static int headersEnd(byte[] data, int from, int end) {
    int line = from;
    while (line < end) {
      if (data[line] == '\n') {
        return line + 1;
      }
      if (data[line] == '\r' && line + 1 < end && data[line + 1] == '\n') {
        return line + 2;
      }
      int next = lineEnd(data, line, end);
      if (next < 0) {
        return -1;
      }
      line = next;
    }
    return -1;
  }

  /** The {@code filename} of a part's Content-Disposition, or null. */
  static String fileName(String headers) {
    for (String line : headers.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).strip().equalsIgnoreCase("Content-Disposition")) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i);\\s*filename\\s*=\\s*(\"([^\"]*)\"|[^;\\s]+)")
            .matcher(line.substring(colon + 1));
        if (m.find()) {
          return m.group(2) != null ? m.group(2) : m.group(1);
        }
      }
    }
    return null;
  }

  private static int indexOf(byte[] data, int from, int length, byte[] needle) {
    byte first = needle[0];
    int last = length - needle.length;
    outer:
    for (int i = from; i <= last; i++) {
      if (data[i] != first) {
        continue;
      }
      for (int k = 1; k < needle.length; k++) {
        if (data[i + k] != needle[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
