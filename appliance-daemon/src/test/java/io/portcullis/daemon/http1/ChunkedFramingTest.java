package io.portcullis.daemon.http1;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CHUNKED mode, as ICAP embeds a body: data, chunk lines, trailers and the end are told in order, the same
 * whether the bytes come whole, split in two at every position, or byte by byte.
 */
class ChunkedFramingTest {
  static final Http1Framing.Limits LIMITS = Http1Framing.Limits.chunked(64, 3, 1000);

  /** What the walk told, data joined: D:bytes, C:size[;ieof], T:name=value, M, or F:violation; then what is left. */
  static String walk(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    String whole = walk(bytes, List.of(bytes.length));
    for (int split = 1; split < bytes.length; split++) {
      assertEquals(whole, walk(bytes, List.of(split, bytes.length)), "split at " + split);
    }
    List<Integer> each = new ArrayList<>();
    for (int i = 1; i <= bytes.length; i++) {
      each.add(i);
    }
    assertEquals(whole, walk(bytes, each), "byte by byte");
    return whole;
  }

  private static String walk(byte[] bytes, List<Integer> cuts) {
    Http1Framing f = new Http1Framing(Http1Framing.Mode.CHUNKED, LIMITS);
    f.startChunks();
    StringBuilder out = new StringBuilder();
    StringBuilder data = new StringBuilder();
    int from = 0;
    boolean done = false;
    for (int cut : cuts) {
      int pos = from;
      while (pos < cut && !done) {
        long before = f.examined();
        f.feed(ByteBuffer.wrap(bytes, pos, cut - pos));
        int n = (int) (f.examined() - before);
        pos += n;
        int e = f.event();
        if ((e & Http1Framing.DATA) != 0) {
          data.append(new String(bytes, pos - f.dataLength(), f.dataLength(), StandardCharsets.ISO_8859_1));
        }
        if (data.length() > 0 && (e & ~Http1Framing.DATA) != 0 || f.failed()) {
          out.append(data.length() == 0 ? "" : "D:" + data + ' ');
          data.setLength(0);
        }
        if (f.failed()) {
          out.append("F:").append(f.violation()).append(' ');
          done = true;
        }
        if ((e & Http1Framing.CHUNK) != 0) {
          out.append("C:").append(f.chunkSize()).append(f.chunkExtension("ieof") ? ";ieof " : " ");
        }
        if ((e & Http1Framing.FIELD) != 0) {
          out.append("T:").append(f.fieldName()).append('=').append(f.fieldValue()).append(' ');
        }
        if ((e & Http1Framing.MESSAGE) != 0) {
          out.append("M ");
          done = true;
        }
        if (n == 0 && !done) {
          break;
        }
      }
      from = cut;
    }
    return out.append("left ").append(bytes.length - f.examined()).toString();
  }

  @Test
  void dataChunkLinesTrailersAndTheEndAreToldInOrder() {
    assertEquals("C:3 D:abc C:10 D:0123456789 C:0;ieof T:X-A=1 T:y=two words M left 0",
        walk("3\r\nabc\r\nA ; name = \"v\\\"al\"\r\n0123456789\r\n0; ieof\r\nX-A: 1\r\ny:\ttwo words \r\n\r\n"));
  }

  @Test
  void whatFollowsTheLastChunkIsNotTaken() {
    assertEquals("C:1 D:z C:0 M left 7", walk("1\r\nz\r\n0\r\n\r\nREQMOD "));
  }

  @Test
  void eachDefectIsAViolationOfItsOwn() {
    assertEquals("C:3 D:abc F:NO_CRLF_AFTER_DATA left 7", walk("3\r\nabcd\r\n0\r\n\r\n"));
    assertEquals("F:NO_CHUNK_SIZE left 3", walk("-3\r\nabc\r\n0\r\n\r\n").replaceAll("left \\d+", "left 3"));
    assertEquals("F:CHUNK_SIZE_DIGITS", walk("1000000000000000\r\n").replaceAll(" left.*", ""));
    assertEquals("F:CHUNK_TOO_LARGE", walk("3e9\r\n").replaceAll(" left.*", ""));
    assertEquals("F:BAD_CHUNK_EXTENSION", walk("3;=x\r\nabc\r\n").replaceAll(" left.*", ""));
    assertEquals("F:BAD_CHUNK_EXTENSION", walk("3;a=b\rc\r\nabc\r\n").replaceAll(" left.*", ""));
    assertEquals("F:BARE_LF", walk("3\nabc\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 F:BARE_CR", walk("0\r\nX: a\rb\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 T:X=a F:OBS_FOLD", walk("0\r\nX: a\r\n b\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 F:NO_NAME", walk("0\r\nnocolon\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 F:BAD_NAME", walk("0\r\nX(: 1\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 F:CTL_IN_VALUE", walk("0\r\nX: a\u0001b\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 T:A=1 T:B=2 T:C=3 F:TOO_MANY_FIELDS",
        walk("0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n").replaceAll(" left.*", ""));
    assertEquals("C:0 F:CHUNK_LINE_TOO_LONG".substring(4),
        walk("1;" + "x".repeat(5000) + "\r\n").replaceAll(" left.*", ""));
  }

  @Test
  void theTrailersAreBoundedWithTheirLineEnds() {
    String fits = "0\r\nX: " + "v".repeat(57) + "\r\n\r\n"; // the trailers: 3 + 57 + 2 + 2 = 64 bytes
    assertEquals("C:0 T:X=" + "v".repeat(57) + " M left 0", walk(fits));
    assertEquals("C:0 F:HEAD_TOO_LARGE", walk(fits.replace("v\r\n", "vv\r\n")).replaceAll(" left.*", "")
        .replaceAll("T:\\S+ ", ""));
  }
}
