package io.portcullis.daemon.scan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class MultipartTest {
  static final String EICAR = new String(BuiltinEngine.EICAR, StandardCharsets.US_ASCII);

  static String form(String eol, String boundary) {
    return "preamble" + eol + "--" + boundary + eol
        + "Content-Disposition: form-data; name=\"comment\"" + eol + eol + "see attached" + eol
        + "--" + boundary + eol
        + "Content-Disposition: form-data; name=\"file\"; filename=\"eicar.com\"" + eol
        + "Content-Type: application/octet-stream" + eol + eol + EICAR + eol
        + "--" + boundary + "--" + eol + "epilogue";
  }

  static List<String> contents(String body, String boundary) {
    byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
    return Multipart.parts(b, b.length, boundary, 100).stream()
        .map(p -> new String(b, p.offset(), p.length(), StandardCharsets.ISO_8859_1)).toList();
  }

  @Test
  void partsAreReadWithCrlfOrLfAlone() {
    for (String eol : List.of("\r\n", "\n")) {
      String body = form(eol, "----x1");
      assertEquals(List.of("see attached", EICAR), contents(body, "----x1"), eol.length() + "-byte line ends");
      byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
      List<Multipart.Part> parts = Multipart.parts(b, b.length, "----x1", 100);
      assertNull(parts.get(0).fileName());
      assertEquals("eicar.com", parts.get(1).fileName());
    }
  }

  @Test
  void theBoundaryComesFromTheContentType() {
    assertEquals("abc", Multipart.boundary("multipart/form-data; boundary=abc"));
    assertEquals("a b;c", Multipart.boundary("Multipart/Mixed; charset=x; BOUNDARY=\"a b;c\""));
    assertEquals("----WebKitFormBoundary7MA4YWxk", Multipart.boundary(
        "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxk"));
    assertNull(Multipart.boundary("application/x-www-form-urlencoded"));
    assertNull(Multipart.boundary("multipart/form-data"));
    assertNull(Multipart.boundary(null));
  }

  @Test
  void aBodyCutShortKeepsItsLastPartAndGarbageGivesNone() {
    String body = form("\r\n", "b");
    String cut = body.substring(0, body.indexOf(EICAR) + 20);
    assertEquals(List.of("see attached", EICAR.substring(0, 20)), contents(cut, "b"));
    assertEquals(List.of(), contents("no delimiter here at all", "b"));
    assertEquals(List.of(), contents("--b", "b"));
    assertEquals(List.of(), contents("--b--\r\n", "b"));
  }

  @Test
  void aFileInsideAFormIsFoundOnlyPartByPart() throws Exception {
    byte[] body = form("\r\n", "zz").getBytes(StandardCharsets.ISO_8859_1);
    try (Scanner s = new Scanner(List.of(new BuiltinEngine(true, java.util.Map.of())), 1, 10,
        Duration.ofSeconds(10), 1 << 20)) {
      assertEquals(ScanResult.CLEAN, s.scan(body, body.length).get(), "EICAR is not at the body's start");
      ScanResult r = s.scan(body, body.length, "multipart/form-data; boundary=zz").get();
      assertInstanceOf(ScanResult.Infected.class, r);
      assertEquals(BuiltinEngine.EICAR_NAME, ((ScanResult.Infected) r).threat());
    }
  }
}
