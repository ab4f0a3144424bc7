package io.portcullis.daemon.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuiltinEngineTest {
  static final byte[] EICAR = BuiltinEngine.EICAR;
  @TempDir
  Path dir;

  static byte[] zip(String name, byte[] content) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      z.putNextEntry(new ZipEntry("readme.txt"));
      z.write("nothing here".getBytes(StandardCharsets.US_ASCII));
      z.putNextEntry(new ZipEntry(name));
      z.write(content);
    }
    return out.toByteArray();
  }

  static ScanResult scan(ScanEngine e, byte[] b) {
    return e.scan(b, b.length);
  }

  @Test
  void eicarAloneInAZipAndNestedIsFound() throws Exception {
    BuiltinEngine e = new BuiltinEngine(true, Map.of());
    assertEquals(new ScanResult.Infected("EICAR-Test-File", "builtin"), scan(e, EICAR));
    byte[] withNewline = (new String(EICAR, StandardCharsets.US_ASCII) + "\r\n").getBytes(StandardCharsets.US_ASCII);
    assertInstanceOf(ScanResult.Infected.class, scan(e, withNewline));
    assertInstanceOf(ScanResult.Infected.class, scan(e, zip("eicar.com", EICAR)));
    assertInstanceOf(ScanResult.Infected.class, scan(e, zip("inner.zip", zip("eicar.com", EICAR))));
    byte[] embedded = ("prefix " + new String(EICAR, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII);
    assertEquals(ScanResult.CLEAN, scan(e, embedded), "EICAR only counts at the start of a file");
    assertEquals(ScanResult.CLEAN, scan(e, zip("a.txt", "harmless".getBytes(StandardCharsets.US_ASCII))));
    assertEquals(ScanResult.CLEAN, scan(new BuiltinEngine(false, Map.of()), EICAR));
  }

  @Test
  void hashListsNameTheirThreats() throws Exception {
    byte[] bad = "this file is known to be bad".getBytes(StandardCharsets.US_ASCII);
    Path list = dir.resolve("bad.sha256");
    Files.writeString(list, "# known bad\n" + BuiltinEngine.sha256(bad, bad.length) + " Test.Bad.File\n"
        + BuiltinEngine.sha256(new byte[] {1}, 1) + "\n");
    BuiltinEngine e = new BuiltinEngine(false, BuiltinEngine.loadHashLists(List.of(list)));
    assertEquals(new ScanResult.Infected("Test.Bad.File", "builtin"), scan(e, bad));
    assertEquals(new ScanResult.Infected("SHA256.bad.sha256", "builtin"), scan(e, new byte[] {1}));
    assertInstanceOf(ScanResult.Infected.class, scan(e, zip("x.bin", bad)), "also inside archives");
    assertEquals(ScanResult.CLEAN, scan(e, new byte[] {2}));
  }
}
