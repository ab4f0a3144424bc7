package io.portcullis.daemon.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The CEF line: header and extension escaping, fields left out when unknown, signature ids, names, severities. */
class CefTest {
  static final Instant T = Instant.parse("2024-05-06T07:08:09.123Z");

  static TrafficEvent event(String ruleType, String action, String threat, String url) {
    return new TrafficEvent(T, "node-1", "proxy", "10.0.0.7", "alice", "GET", url, "example.com", "news",
        ruleType, "rule 1", action, threat, "text/html", "html", 200, 10, 20, 30, 40, 50);
  }

  static TrafficEvent bare(String action) {
    return new TrafficEvent(T, null, null, null, null, null, null, null, null, null, null, action, null, null, null,
        -1, -1, -1, -1, -1, -1);
  }

  @Test
  void fullEventHasEveryKeyInOrder() {
    String line = Cef.format(event("access", "block", null, "http://example.com/a"), "1.2.3");
    assertEquals("CEF:0|Portcullis|Portcullis|1.2.3|access-block|Blocked by access rule|5|"
        + "rt=1714979289123 dvchost=node-1 src=10.0.0.7 suser=alice requestMethod=GET"
        + " request=http://example.com/a dhost=example.com act=block cat=news cs1Label=ruleType cs1=access"
        + " cs2Label=rule cs2=rule 1 cs4Label=contentType cs4=text/html cs5Label=source cs5=proxy fileType=html cn1Label=httpStatus cn1=200"
        + " in=10 out=20 cn2Label=icapMicros cn2=30 cn3Label=upstreamMicros cn3=40", line);
  }

  @Test
  void groupsAreCs6AndALineBreakInOneIsEscaped() {
    TrafficEvent e = new TrafficEvent(T, null, null, null, "alice", null, null, null, null, null, null, "allow", null,
        null, null, -1, -1, -1, -1, -1, -1, null, null, "finance, evil\r\nx");
    String line = Cef.format(e, "1");
    assertTrue(line.endsWith(" suser=alice act=allow cs6Label=groups cs6=finance, evil\\r\\nx"), line);
    assertEquals("finance, evil\r\nx", extension(line).get("cs6"));
    assertEquals(e, TrafficEvent.fromJson(e.toJson()), "the journal keeps the groups");
  }

  @Test
  void pipeAndBackslashAreEscapedInTheHeader() {
    String line = Cef.format(bare("allow"), "1|2\\3\nx");
    assertTrue(line.startsWith("CEF:0|Portcullis|Portcullis|1\\|2\\\\3 x|allow|Allowed|1|"), line);
    assertFalse(line.contains("\n"), line);
    // Unescaped pipes split the header into exactly eight parts.
    assertEquals(8, line.split("(?<!\\\\)\\|", -1).length, line);
  }

  @Test
  void equalsBackslashAndLineBreaksAreEscapedInExtensionValues() {
    String url = "http://x/a=b\\c|d\ne\rf";
    String line = Cef.format(event(null, "allow", null, url), "1");
    assertTrue(line.contains(" request=http://x/a\\=b\\\\c|d\\ne\\rf dhost="), line);
    assertFalse(line.contains("\n") || line.contains("\r"), line);
    assertEquals(url, extension(line).get("request"));
  }

  @Test
  void unknownFieldsAreLeftOut() {
    String line = Cef.format(bare("allow"), "1");
    assertEquals("CEF:0|Portcullis|Portcullis|1|allow|Allowed|1|rt=1714979289123 act=allow", line);
    TrafficEvent empty = new TrafficEvent(T, "", "", "", "", "", "", "", "", "", "", "error", "", "", "", -1, -1,
        -1, -1, -1, -1);
    assertEquals("CEF:0|Portcullis|Portcullis|1|error|Error|4|rt=1714979289123 act=error", Cef.format(empty, "1"));
  }

  @Test
  void keysComeOnlyFromTheFixedSet() {
    Set<String> allowed = Set.of("rt", "dvchost", "src", "suser", "requestMethod", "request", "dhost", "act",
        "cat", "cs1Label", "cs1", "cs2Label", "cs2", "cs3Label", "cs3", "cs4Label", "cs4", "cs5Label", "cs5", "fileType", "cn1Label",
        "cn1", "in", "out", "cn2Label", "cn2", "cn3Label", "cn3");
    String line = Cef.format(event("protection", "block", "Eicar-Test-Signature", "http://x/?a=1&b=2 c=3"), "1");
    Map<String, String> ext = extension(line);
    assertTrue(allowed.containsAll(ext.keySet()), ext.keySet().toString());
    assertEquals("Eicar-Test-Signature", ext.get("cs3"));
    assertEquals("threat", ext.get("cs3Label"));
    assertEquals("http://x/?a=1&b=2 c=3", ext.get("request"));
  }

  @Test
  void signatureIdsNamesAndSeverities() {
    assertEquals("access-block", Cef.signatureId(event("access", "block", null, "u")));
    assertEquals("protection-block", Cef.signatureId(event("protection", "block", "EICAR", "u")));
    assertEquals("bypass-allow", Cef.signatureId(event("bypass", "allow", null, "u")));
    assertEquals("allow", Cef.signatureId(event(null, "allow", null, "u")));
    assertEquals("redirect", Cef.signatureId(bare("redirect")));

    assertEquals("Threat blocked", Cef.name(event("protection", "block", "EICAR", "u")));
    assertEquals("Blocked by access rule", Cef.name(event("access", "block", null, "u")));
    assertEquals("Redirected", Cef.name(bare("redirect")));
    assertEquals("Allowed", Cef.name(bare("allow")));
    assertEquals("Error", Cef.name(bare("error")));

    assertEquals(8, Cef.severity(event("protection", "block", "EICAR", "u")));
    assertEquals(5, Cef.severity(event("access", "block", null, "u")));
    assertEquals(4, Cef.severity(bare("error")));
    assertEquals(3, Cef.severity(bare("redirect")));
    assertEquals(1, Cef.severity(bare("allow")));
  }

  @Test
  void nonAsciiPassesThrough() {
    TrafficEvent e = new TrafficEvent(T, null, null, null, "Jürgen Müller 山田", null, null, null, null, null, null,
        "allow", null, null, null, -1, -1, -1, -1, -1, -1);
    assertEquals("Jürgen Müller 山田", extension(Cef.format(e, "1")).get("suser"));
  }

  /** Parses a CEF extension the way a SIEM does: a key starts after a space and ends at an unescaped '='. */
  static Map<String, String> extension(String line) {
    int pipes = 0;
    int i = 0;
    for (; i < line.length() && pipes < 7; i++) {
      if (line.charAt(i) == '\\') {
        i++;
      } else if (line.charAt(i) == '|') {
        pipes++;
      }
    }
    String ext = line.substring(i);
    // Split at each " key=" whose '=' is not escaped.
    List<int[]> keys = new ArrayList<>();
    var m = java.util.regex.Pattern.compile("(?:^| )([A-Za-z0-9]+)=").matcher(ext);
    while (m.find()) {
      int eq = m.end() - 1;
      if (eq == 0 || ext.charAt(eq - 1) != '\\') {
        keys.add(new int[] {m.start(1), m.end()});
      }
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (int k = 0; k < keys.size(); k++) {
      int end = k + 1 < keys.size() ? keys.get(k + 1)[0] - 1 : ext.length();
      out.put(ext.substring(keys.get(k)[0], keys.get(k)[1] - 1), unescape(ext.substring(keys.get(k)[1], end)));
    }
    return out;
  }

  static String unescape(String v) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '\\' && i + 1 < v.length()) {
        char n = v.charAt(++i);
        b.append(n == 'n' ? '\n' : n == 'r' ? '\r' : n);
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
