package io.portcullis.daemon.http1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The core's pieces alone: characters, token lists, field lines under each rule set, chunk lines, start lines. */
class Http1SyntaxTest {
  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  static Violation field(String line, Fields.Rules rules) {
    byte[] x = b(line);
    int r = Fields.check(x, 0, x.length, rules);
    return r < 0 ? Violation.of(r) : null;
  }

  static String chunk(String line, int digits, long max, ChunkLine.Extensions ext) {
    byte[] x = b(line);
    long r = ChunkLine.parse(x, 0, x.length, digits, max, ext);
    return r < 0 ? Violation.of(r).name() : Long.toString(r);
  }

  @Test
  void tcharIsVcharLessTheDelimitersAndCaseFoldsOnlyLetters() {
    for (char c : "!#$%&'*+-.^_`|~09azAZ".toCharArray()) {
      assertTrue(Chars.tchar((byte) c), String.valueOf(c));
    }
    for (char c : "\"(),/:;<=>?@[\\]{} \t\u0000\u007f\u00e9".toCharArray()) {
      assertFalse(Chars.tchar((byte) c), String.valueOf((int) c));
    }
    assertTrue(Chars.is(b("Content-LENGTH"), 0, 14, "content-length"));
    assertFalse(Chars.is(b("content\rlength"), 0, 14, "content-length")); // CR is no '-' in another case
    assertEquals(15, Chars.hex((byte) 'F'));
    assertEquals(-1, Chars.hex((byte) 'g'));
  }

  @Test
  void tokenListsAreCommaSeparatedTrimmedItemsInAnyCase() {
    byte[] v = b(" Keep-Alive ,, CLOSE\t,");
    assertTrue(TokenList.has(v, 0, v.length, "close"));
    assertTrue(TokenList.has(v, 0, v.length, "keep-alive"));
    assertFalse(TokenList.has(v, 0, v.length, "keep"));
    byte[] one = b("Upgrade close");
    assertFalse(TokenList.has(one, 0, one.length, "close")); // one malformed item, as the proxy always read it
    byte[] te = b("gzip, chunked ,");
    assertTrue(TokenList.lastIs(te, 0, te.length, "chunked")); // an empty last element is no coding (RFC 9110 5.6.1)
    byte[] notLast = b("chunked, gzip");
    assertFalse(TokenList.lastIs(notLast, 0, notLast.length, "chunked"));
    assertTrue(TokenList.has(" trailers ,\t204 ", "204"));
    assertFalse(TokenList.has("2045, 20 4", "204"));
  }

  @Test
  void fieldLinesUnderEachRuleSet() {
    assertNull(field("Host: a", Fields.Rules.STRICT));
    assertEquals(Violation.OBS_FOLD, field(" folded", Fields.Rules.STRICT));
    assertEquals(Violation.NO_NAME, field(": v", Fields.Rules.STRICT));
    assertEquals(Violation.NO_NAME, field("nocolon", Fields.Rules.STRICT));
    assertEquals(Violation.WS_IN_NAME, field("Host : a", Fields.Rules.STRICT));
    assertEquals(Violation.BAD_NAME, field("H(st: a", Fields.Rules.STRICT));
    assertEquals(Violation.CTL_IN_VALUE, field("X: a\u0001", Fields.Rules.STRICT));
    // A server's: only what could split the head or hide a name.
    assertNull(field("H(st: a\u0001", Fields.Rules.TRUSTED));
    assertEquals(Violation.WS_IN_NAME, field("X Y", Fields.Rules.TRUSTED));
    assertEquals(Violation.OBS_FOLD, field("\tX: y", Fields.Rules.TRUSTED));
    // ICAP's: controls where String.strip would take them off are trimmed, not refused.
    assertNull(field("X: \u000b v \u001f", Fields.Rules.EMBEDDED));
    assertEquals(Violation.CTL_IN_VALUE, field("X: a\u0000b", Fields.Rules.EMBEDDED));
    byte[] x = b("X: \u000b v \u001f");
    int vs = Fields.valueStart(x, 1, x.length, Fields.Rules.EMBEDDED);
    assertEquals("v", new String(x, vs, Fields.valueEnd(x, vs, x.length, Fields.Rules.EMBEDDED) - vs,
        StandardCharsets.ISO_8859_1));
  }

  @Test
  void chunkLinesUnderEachExtensionRule() {
    assertEquals("26", chunk("1a;name=\"q;\\\"x\" ; b=c", 16, 1L << 62, ChunkLine.Extensions.STRICT));
    assertEquals("BAD_CHUNK_EXTENSION", chunk("1a ", 16, 1L << 62, ChunkLine.Extensions.STRICT));
    assertEquals("26", chunk("1a ", 15, 100, ChunkLine.Extensions.TOLERANT));
    assertEquals("26", chunk("1a;x", 16, Long.MAX_VALUE, ChunkLine.Extensions.SKIPPED));
    assertEquals("BAD_CHUNK_EXTENSION", chunk("1ax", 16, Long.MAX_VALUE, ChunkLine.Extensions.SKIPPED));
    assertEquals("NO_CHUNK_SIZE", chunk(";x", 16, 100, ChunkLine.Extensions.STRICT));
    assertEquals("CHUNK_SIZE_DIGITS", chunk("0".repeat(17), 16, 100, ChunkLine.Extensions.STRICT));
    assertEquals("CHUNK_TOO_LARGE", chunk("ffffffffffffffff", 16, Long.MAX_VALUE, ChunkLine.Extensions.STRICT));
    assertEquals("CHUNK_TOO_LARGE", chunk("65", 15, 100, ChunkLine.Extensions.TOLERANT));
    byte[] ieof = b("0; ieof");
    assertTrue(ChunkLine.hasExtension(ieof, 0, ieof.length, "ieof"));
    byte[] quoted = b("0; a=\"; ieof\"");
    assertFalse(ChunkLine.hasExtension(quoted, 0, quoted.length, "ieof"));
  }

  @Test
  void startLinesStrictAndEmbedded() {
    byte[] ok = b("GET http://a/ HTTP/1.1");
    assertNull(StartLine.request(ok, 0, ok.length, false));
    byte[] v2 = b("GET / HTTP/2.0");
    assertEquals(Violation.VERSION_NOT_SUPPORTED, StartLine.request(v2, 0, v2.length, false));
    assertNull(StartLine.request(v2, 0, v2.length, true));
    byte[] target = b("GET /\u0001 HTTP/1.1");
    assertEquals(Violation.BAD_TARGET, StartLine.request(target, 0, target.length, false));
    assertNull(StartLine.request(target, 0, target.length, true));
    for (String t : List.of("/a#frag", "/caf\u00e9", "/\u00ff")) { // a fragment, bytes past ASCII
      byte[] b = b("GET " + t + " HTTP/1.1");
      assertEquals(Violation.BAD_TARGET, StartLine.request(b, 0, b.length, false), t);
      assertNull(StartLine.request(b, 0, b.length, true), t); // an embedded (ICAP) head is carried as it came
    }
    byte[] method = b("G(T / HTTP/1.1");
    assertEquals(Violation.BAD_METHOD, StartLine.request(method, 0, method.length, true));
    byte[] status = b("HTTP/1.0 204 No Content");
    assertEquals(10204, StartLine.status(status, 0, status.length));
    byte[] bad = b("HTTP/1.1 2000 OK");
    assertEquals(-1, StartLine.status(bad, 0, bad.length));
  }

  @Test
  void aHeaderBlockSplitsOnCrlfOnly() {
    HeaderBlock block = new HeaderBlock();
    byte[] x = b("A\r\nB: 1\r\nC: 2");
    assertNull(block.split(x, 0, x.length, true, true));
    assertEquals(3, block.count());
    assertEquals(3, block.start(1));
    assertEquals(7, block.end(1));
    byte[] cr = b("A\r\nB: 1\rC: 2");
    assertEquals(Violation.BARE_CR, block.split(cr, 0, cr.length, false, false));
    byte[] nul = b("A\r\nB: \u0000");
    assertNull(block.split(nul, 0, nul.length, false, false));
    assertEquals(Violation.BARE_CR, block.split(nul, 0, nul.length, true, false));
    byte[] empty = b("A\r\n\r\nB: 1");
    assertEquals(Violation.EMPTY_LINE, block.split(empty, 0, empty.length, true, true));
  }
}
