package io.portcullis.daemon.rules;

import java.nio.charset.StandardCharsets;
import java.util.Set;

/** True file types from a body's first bytes (magic numbers), never from the name or the declared MIME type. */
public final class FileTypes {
  /** How many leading bytes {@link #detect} looks at. */
  public static final int HEAD = 512;
  /** Names that stand for several types. */
  public static final Set<String> IMAGES = Set.of("png", "jpeg", "gif", "bmp", "webp", "tiff");

  private FileTypes() {
  }

  /** The type of a body starting with {@code b[0..n)}, or null if unknown. */
  public static String detect(byte[] b, int n) {
    if (n >= 2 && b[0] == 'M' && b[1] == 'Z') {
      return "exe";
    }
    if (starts(b, n, 0x7f, 'E', 'L', 'F')) {
      return "elf";
    }
    if (starts(b, n, 'P', 'K', 3, 4) || starts(b, n, 'P', 'K', 5, 6) || starts(b, n, 'P', 'K', 7, 8)) {
      return isOoxml(b, n) ? "office" : "zip";
    }
    if (starts(b, n, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) {
      return "office"; // OLE2 compound file: .doc, .xls, .ppt, .msi
    }
    if (starts(b, n, 0x1f, 0x8b)) {
      return "gzip";
    }
    if (starts(b, n, '7', 'z', 0xbc, 0xaf, 0x27, 0x1c)) {
      return "7z";
    }
    if (starts(b, n, 'R', 'a', 'r', '!', 0x1a, 0x07)) {
      return "rar";
    }
    if (indexOf(b, Math.min(n, 1024), PDF) >= 0) {
      return "pdf";
    }
    if (starts(b, n, 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n')) {
      return "png";
    }
    if (starts(b, n, 0xff, 0xd8, 0xff)) {
      return "jpeg";
    }
    if (starts(b, n, 'G', 'I', 'F', '8')) {
      return "gif";
    }
    if (starts(b, n, 'B', 'M') && n >= 14) {
      return "bmp";
    }
    if (starts(b, n, 'R', 'I', 'F', 'F') && n >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
      return "webp";
    }
    if (starts(b, n, 'I', 'I', 42, 0) || starts(b, n, 'M', 'M', 0, 42)) {
      return "tiff";
    }
    if (starts(b, n, '#', '!')) {
      return "script";
    }
    String text = lowerAscii(b, Math.min(n, HEAD));
    String trimmed = text.stripLeading();
    if (trimmed.startsWith("<?php") || trimmed.startsWith("@echo off") || trimmed.startsWith("<script")) {
      return "script";
    }
    if (trimmed.startsWith("<!doctype html") || trimmed.startsWith("<html") || trimmed.startsWith("<head")) {
      return "html";
    }
    return null;
  }

  /** True when {@code detected} is what the rule's {@code wanted} names (a type, or the groups image and office). */
  public static boolean matches(String wanted, String detected) {
    if (detected == null) {
      return false;
    }
    return wanted.equals(detected) || (wanted.equals("image") && IMAGES.contains(detected));
  }

  private static boolean isOoxml(byte[] b, int n) {
    // Office Open XML: a zip whose first entries are [Content_Types].xml, _rels/ or docProps/ / word/ / xl/ / ppt/.
    int nameLen = n >= 28 ? (b[26] & 0xff) | ((b[27] & 0xff) << 8) : 0;
    if (n < 30 + nameLen || nameLen == 0) {
      return indexOf(b, n, OOXML) >= 0;
    }
    String first = new String(b, 30, nameLen, StandardCharsets.ISO_8859_1);
    return first.equals("[Content_Types].xml") || first.startsWith("_rels/") || first.startsWith("word/")
        || first.startsWith("xl/") || first.startsWith("ppt/") || first.startsWith("docProps/")
        || indexOf(b, n, OOXML) >= 0;
  }

  private static boolean starts(byte[] b, int n, int... magic) {
    if (n < magic.length) {
      return false;
    }
    for (int i = 0; i < magic.length; i++) {
      if ((b[i] & 0xff) != (magic[i] & 0xff)) {
        return false;
      }
    }
    return true;
  }

  private static final byte[] PDF = "%PDF-".getBytes(StandardCharsets.ISO_8859_1);
  private static final byte[] OOXML = "[Content_Types].xml".getBytes(StandardCharsets.ISO_8859_1);

  private static int indexOf(byte[] b, int n, byte[] p) {
    byte first = p[0];
    outer:
    for (int i = 0; i + p.length <= n; i++) {
      if (b[i] != first) {
        continue;
      }
      for (int j = 1; j < p.length; j++) {
        if (b[i + j] != p[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static String lowerAscii(byte[] b, int n) {
    char[] c = new char[n];
    for (int i = 0; i < n; i++) {
      int x = b[i] & 0xff;
      c[i] = (char) (x >= 'A' && x <= 'Z' ? x + 32 : x);
    }
    return new String(c);
  }
}
