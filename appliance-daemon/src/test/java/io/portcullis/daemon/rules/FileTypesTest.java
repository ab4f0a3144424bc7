package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** True file types detected on real files the test makes (or finds on the system), not on names. */
class FileTypesTest {

  static String detect(byte[] b) {
    return FileTypes.detect(b, Math.min(b.length, FileTypes.HEAD));
  }

  static byte[] zip(String... names) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      for (String n : names) {
        z.putNextEntry(new ZipEntry(n));
        z.write(("content of " + n).getBytes(StandardCharsets.US_ASCII));
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  static byte[] image(String format) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(new BufferedImage(4, 4, BufferedImage.TYPE_INT_RGB), format, out), format);
    return out.toByteArray();
  }

  @Test
  void executablesFromTheSystemAndHeaders() throws Exception {
    assertEquals("elf", detect(Files.readAllBytes(Path.of("/bin/true"))));
    byte[] pe = new byte[128];
    pe[0] = 'M';
    pe[1] = 'Z';
    assertEquals("exe", detect(pe));
  }

  @Test
  void archivesAndOfficeDocuments() throws Exception {
    assertEquals("zip", detect(zip("a.txt", "b/c.txt")));
    assertEquals("office", detect(zip("[Content_Types].xml", "word/document.xml")), "OOXML (docx)");
    assertEquals("office", detect(zip("_rels/.rels", "xl/workbook.xml")), "OOXML (xlsx)");
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
      g.write("hello".getBytes(StandardCharsets.US_ASCII));
    }
    assertEquals("gzip", detect(gz.toByteArray()));
    assertEquals("7z", detect(new byte[] {'7', 'z', (byte) 0xbc, (byte) 0xaf, 0x27, 0x1c, 0, 4}));
    assertEquals("rar", detect("Rar!\u001a\u0007\u0001\u0000".getBytes(StandardCharsets.ISO_8859_1)));
    assertEquals("office", detect(new byte[] {(byte) 0xd0, (byte) 0xcf, 0x11, (byte) 0xe0, (byte) 0xa1,
        (byte) 0xb1, 0x1a, (byte) 0xe1, 0, 0}), "OLE2 (doc, xls)");
  }

  @Test
  void documentsImagesScriptsAndHtml() throws Exception {
    assertEquals("pdf", detect("%PDF-1.7\n%\u00e2\u00e3\n1 0 obj".getBytes(StandardCharsets.ISO_8859_1)));
    assertEquals("png", detect(image("png")));
    assertEquals("jpeg", detect(image("jpeg")));
    assertEquals("gif", detect(image("gif")));
    assertEquals("bmp", detect(image("bmp")));
    assertEquals("script", detect("#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII)));
    assertEquals("script", detect("  <?php echo 1; ?>".getBytes(StandardCharsets.US_ASCII)));
    assertEquals("html", detect("\n<!DOCTYPE html><html>".getBytes(StandardCharsets.US_ASCII)));
    assertNull(detect("just some text".getBytes(StandardCharsets.US_ASCII)));
    assertNull(detect(new byte[0]));
  }

  @Test
  void imageNamesEveryImageType() {
    assertTrue(FileTypes.matches("image", "png"));
    assertTrue(FileTypes.matches("image", "webp"));
    assertFalse(FileTypes.matches("image", "pdf"));
    assertTrue(FileTypes.matches("zip", "zip"));
    assertFalse(FileTypes.matches("zip", "office"));
    assertFalse(FileTypes.matches("exe", null));
  }
}
