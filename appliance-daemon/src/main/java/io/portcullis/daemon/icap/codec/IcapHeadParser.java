package io.portcullis.daemon.icap.codec;

import io.portcullis.daemon.http1.Fields;
import io.portcullis.daemon.http1.HeaderBlock;
import io.portcullis.daemon.http1.StartLine;
import io.portcullis.daemon.http1.Violation;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads the whole head of one ICAP message, as {@link IcapDecoder} gathered it: the ICAP start line and headers,
 * Encapsulated and Preview, then the encapsulated HTTP heads (with the http1 core's field and start-line rules).
 * Each step returns null or what is wrong; what it read stays in the fields until the next message.
 */
final class IcapHeadParser {
  private static final Set<String> METHODS = Set.of("OPTIONS", "REQMOD", "RESPMOD");
  private static final List<String> SECTION_LIST =
      List.of("req-hdr", "res-hdr", "req-body", "res-body", "null-body", "opt-body");
  private static final Set<String> SECTION_NAMES = Set.copyOf(SECTION_LIST);
  /**
   * Header names Squid, c-icap's clients, browsers and servers send, as constants: a name spelled so is not copied,
   * and a look-up with the same literal ({@code get("Host")}) matches it by identity before comparing any letter.
   */
  private static final String[][] NAMES_BY_LENGTH = byLength("Host", "Date", "Encapsulated", "Preview", "Allow",
      "X-Client-IP", "X-Client-Username", "X-Authenticated-User", "X-Authenticated-Groups", DecisionHeaders.EVENTS,
      "User-Agent", "Accept", "Accept-Encoding", "Accept-Language", "Connection", "Content-Type", "Content-Length",
      "Content-Encoding", "Cache-Control", "Cookie", "Set-Cookie", "Referer", "Server", "Last-Modified", "ETag",
      "Accept-Ranges", "Transfer-Encoding", "Via", "X-Forwarded-For", "Pragma", "Upgrade-Insecure-Requests",
      "If-Modified-Since", "If-None-Match", "Expires", "Vary", "Location", "Authorization", "Proxy-Authorization",
      "Proxy-Connection", "Origin", "Keep-Alive", "Content-Disposition", "Age", "Range");

  private final IcapDecoder.Mode mode;
  private final IcapDecoder.Limits limits;
  private final HeaderBlock lines = new HeaderBlock();
  private byte[] acc;
  // What the head said.
  String method;
  String uri;
  int status;
  String reason;
  Headers icapHeaders;
  List<String> sectionNames;
  int[] sectionOffsets;
  BodyKind bodyKind;
  int preview = -1;

  IcapHeadParser(IcapDecoder.Mode mode, IcapDecoder.Limits limits) {
    this.mode = mode;
    this.limits = limits;
  }

  /** Forgets the last message's head. */
  void reset() {
    method = null;
    uri = null;
    status = 0;
    reason = null;
    icapHeaders = null;
    sectionNames = null;
    sectionOffsets = null;
    bodyKind = null;
    preview = -1;
  }

  /** Reads the ICAP head in b[0, len) (its empty line excluded); null or what is wrong. */
  String icapHead(byte[] b, int len) {
    acc = b;
    reset();
    if (lines.split(b, 0, len, false, false) != null) {
      return "bare CR or LF in the ICAP header section";
    }
    String startLine = line(0);
    String startError = mode == IcapDecoder.Mode.REQUEST ? requestLine(startLine) : statusLine(startLine);
    if (startError != null) {
      return startError;
    }
    List<Headers.Field> fields = new ArrayList<>(lines.count());
    String fieldError = fields(1, fields, "ICAP");
    if (fieldError != null) {
      return fieldError;
    }
    List<String> encapsulated = new ArrayList<>();
    List<String> previews = new ArrayList<>();
    List<Headers.Field> kept = new ArrayList<>(fields.size());
    for (Headers.Field f : fields) {
      if (f.name().equalsIgnoreCase("Encapsulated")) {
        encapsulated.add(f.value());
      } else if (mode == IcapDecoder.Mode.REQUEST && f.name().equalsIgnoreCase("Preview")) {
        previews.add(f.value());
      } else {
        kept.add(f);
      }
    }
    icapHeaders = Headers.ofFields(kept);
    if (encapsulated.size() > 1) {
      return "Encapsulated is given more than once";
    }
    if (encapsulated.isEmpty()) {
      if (mode == IcapDecoder.Mode.REQUEST && !"OPTIONS".equals(method)) {
        return "Encapsulated header is missing";
      }
      sectionNames = List.of("null-body");
      sectionOffsets = new int[] {0};
      bodyKind = BodyKind.NULL_BODY;
    } else {
      String encError = encapsulated(encapsulated.get(0));
      if (encError != null) {
        return "Encapsulated: " + encError;
      }
    }
    if (mode == IcapDecoder.Mode.REQUEST && !previews.isEmpty()) {
      if (previews.size() > 1) {
        return "Preview is given more than once";
      }
      String p = previews.get(0);
      if (!digits(p, 9) || Integer.parseInt(p) > limits.maxPreview()) {
        return "Preview \"" + p + "\" is not a byte count up to " + limits.maxPreview();
      }
      preview = Integer.parseInt(p);
    }
    if (httpHeadBytes() > limits.maxHttpHeadBytes()) {
      return "encapsulated HTTP headers are larger than " + limits.maxHttpHeadBytes() + " bytes";
    }
    return null;
  }

  /** The length of the encapsulated HTTP heads: the body's offset. */
  int httpHeadBytes() {
    return sectionOffsets[sectionOffsets.length - 1];
  }

  /** Reads the encapsulated HTTP heads in b[0, {@link #httpHeadBytes}); the message, or null and what is wrong. */
  IcapMessage message(byte[] b, String[] error) {
    acc = b;
    HttpHead httpRequest = null;
    HttpHead httpResponse = null;
    for (int i = 0; i < sectionNames.size() - 1; i++) {
      String name = sectionNames.get(i);
      boolean request = name.equals("req-hdr");
      List<Headers.Field> fields = new ArrayList<>();
      String e = httpHead(sectionOffsets[i], sectionOffsets[i + 1], request, fields);
      if (e != null) {
        error[0] = name + ": " + e;
        return null;
      }
      HttpHead head = new HttpHead(line(0), Headers.ofFields(fields));
      if (request) {
        httpRequest = head;
      } else {
        httpResponse = head;
      }
    }
    return mode == IcapDecoder.Mode.REQUEST
        ? new IcapRequest(method, uri, icapHeaders, httpRequest, httpResponse, bodyKind, preview)
        : new IcapResponse(status, reason, icapHeaders, httpRequest, httpResponse, bodyKind);
  }

  private String requestLine(String line) {
    int sp1 = line.indexOf(' ');
    int sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
    if (sp2 < 0 || line.indexOf(' ', sp2 + 1) >= 0) {
      return "ICAP request line is not METHOD SP URI SP ICAP/1.0";
    }
    String m = line.substring(0, sp1);
    if (!METHODS.contains(m)) {
      return "unknown ICAP method \"" + printable(m) + "\"";
    }
    if (line.length() != sp2 + 9 || !line.startsWith("ICAP/1.0", sp2 + 1)) {
      return "unsupported ICAP version \"" + printable(line.substring(sp2 + 1)) + "\"";
    }
    String u = line.substring(sp1 + 1, sp2);
    int hostAt = u.startsWith("icap://") ? 7 : u.startsWith("icaps://") ? 8 : -1;
    if (hostAt < 0) {
      return "ICAP URI is not icap://host/service";
    }
    if (hostAt >= u.length() || u.charAt(hostAt) == '/') {
      return "ICAP URI has no host";
    }
    for (int i = hostAt; i < u.length(); i++) {
      char c = u.charAt(i);
      if (c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' || c == '`'
          || c == '{' || c == '|' || c == '}') {
        return "ICAP URI is malformed: character " + (int) c + " at " + i;
      }
    }
    int end = hostAt;
    while (end < u.length() && "/?#".indexOf(u.charAt(end)) < 0) {
      end++;
    }
    String authority = u.substring(hostAt, end);
    int colon = authority.lastIndexOf(':');
    if (colon >= 0 && colon > authority.lastIndexOf(']') && colon < authority.length() - 1) { // "h:" has no port
      String port = authority.substring(colon + 1);
      // An authority with a port that is not one is no ICAP URI, whatever the path: refused, not guessed at.
      if (!digits(port, 5) || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
        return "ICAP URI has an invalid port \"" + printable(port) + "\"";
      }
    }
    method = m;
    uri = u;
    return null;
  }

  private String statusLine(String line) {
    if (!line.startsWith("ICAP/1.0 ") || line.length() < 12 || !Character.isDigit(line.charAt(9))
        || !Character.isDigit(line.charAt(10)) || !Character.isDigit(line.charAt(11))
        || (line.length() > 12 && line.charAt(12) != ' ')) {
      return "ICAP status line is not ICAP/1.0 SP 3DIGIT SP reason";
    }
    status = Integer.parseInt(line.substring(9, 12));
    reason = line.length() > 13 ? line.substring(13) : "";
    return null;
  }

  /** The HTTP head in acc[from, to) into {@code fields}: null, or what is wrong with it. */
  private String httpHead(int from, int to, boolean request, List<Headers.Field> fields) {
    if (to - from < 4 || acc[to - 1] != '\n' || acc[to - 2] != '\r' || acc[to - 3] != '\n' || acc[to - 4] != '\r') {
      return "the header block does not end with an empty line exactly at the next offset";
    }
    Violation split = lines.split(acc, from, to - 4, true, true);
    if (split != null) {
      return split == Violation.EMPTY_LINE ? "an empty line ends the header block before the next offset"
          : "bare CR, LF or NUL in the HTTP header block";
    }
    int s = lines.start(0);
    int e = lines.end(0);
    if (request) {
      Violation v = StartLine.request(acc, s, e, true);
      if (v == Violation.BAD_METHOD) {
        int sp = line(0).indexOf(' ');
        return "HTTP method \"" + printable(line(0).substring(0, sp)) + "\" is not a token";
      } else if (v != null) {
        return "\"" + printable(line(0)) + "\" is not an HTTP request line";
      }
    } else if (StartLine.status(acc, s, e) < 0) {
      return "\"" + printable(line(0)) + "\" is not an HTTP status line";
    }
    return fields(1, fields, "HTTP");
  }

  /** Parses the {@code name: value} lines from line {@code first} on into {@code into}; null or what is wrong. */
  private String fields(int first, List<Headers.Field> into, String what) {
    if (lines.count() - first > limits.maxHeaderCount()) {
      return what + " header has more than " + limits.maxHeaderCount() + " fields";
    }
    for (int i = first; i < lines.count(); i++) {
      int a = lines.start(i);
      int b = lines.end(i);
      if (a == b) {
        return "empty line inside the " + what + " header";
      }
      int colon = Fields.check(acc, a, b, Fields.Rules.EMBEDDED);
      if (colon < 0) {
        return fieldError(what, Violation.of(colon), line(i));
      }
      int vs = Fields.valueStart(acc, colon, b, Fields.Rules.EMBEDDED);
      int ve = Fields.valueEnd(acc, vs, b, Fields.Rules.EMBEDDED);
      into.add(new Headers.Field(name(a, colon - a), new String(acc, vs, ve - vs, StandardCharsets.ISO_8859_1)));
    }
    return null;
  }

  /** What is wrong with the field {@code line} of a {@code what} header block, in the decoder's words. */
  static String fieldError(String what, Violation v, String line) {
    int colon = line.indexOf(':');
    String name = colon < 0 ? line : line.substring(0, colon);
    return switch (v) {
      case OBS_FOLD -> what + " header uses obsolete line folding";
      case NO_NAME -> what + " header line has no name: \"" + printable(line) + "\"";
      case WS_IN_NAME, BAD_NAME -> what + " header name \"" + printable(name) + "\" is not a token";
      default -> what + " header " + name + " has a control character";
    };
  }

  private String encapsulated(String value) {
    int count = 1;
    for (int c = value.indexOf(','); c >= 0; c = value.indexOf(',', c + 1)) {
      count++;
    }
    List<String> names = new ArrayList<>(count);
    int[] offsets = new int[count];
    int from = 0;
    for (int i = 0; i < count; i++) {
      int comma = value.indexOf(',', from);
      String e = value.substring(from, comma < 0 ? value.length() : comma).strip();
      from = comma + 1;
      int eq = e.indexOf('=');
      if (eq <= 0) {
        return "\"" + printable(e) + "\" is not name=offset";
      }
      String name = sectionName(e.substring(0, eq).strip());
      String off = e.substring(eq + 1).strip();
      if (!SECTION_NAMES.contains(name)) {
        return "unknown section \"" + printable(name) + "\"";
      }
      if (!digits(off, 9)) {
        return "offset \"" + printable(off) + "\" of " + name + " is not a non-negative integer";
      }
      if (names.contains(name)) {
        return name + " is given twice";
      }
      names.add(name);
      offsets[i] = Integer.parseInt(off);
    }
    if (offsets[0] != 0) {
      return "the first offset must be 0";
    }
    for (int i = 1; i < offsets.length; i++) {
      if (offsets[i] <= offsets[i - 1]) {
        return "offsets must strictly increase";
      }
    }
    int bodies = 0;
    for (String n : names) {
      if (n.endsWith("-body")) {
        bodies++;
      }
    }
    String last = names.get(names.size() - 1);
    if (bodies != 1 || !last.endsWith("-body")) {
      return "exactly one body entry (req-body, res-body, null-body or opt-body) must come last";
    }
    int req = names.indexOf("req-hdr");
    int res = names.indexOf("res-hdr");
    if (req >= 0 && res >= 0 && req > res) {
      return "req-hdr must come before res-hdr";
    }
    BodyKind kind = switch (last) {
      case "req-body" -> BodyKind.REQ_BODY;
      case "res-body" -> BodyKind.RES_BODY;
      case "opt-body" -> BodyKind.OPT_BODY;
      default -> BodyKind.NULL_BODY;
    };
    String misfit = mode == IcapDecoder.Mode.REQUEST ? sectionsFor(req, res, kind) : null;
    if (misfit != null) {
      return misfit;
    }
    sectionNames = names;
    sectionOffsets = offsets;
    bodyKind = kind;
    return null;
  }

  /** What the request's method does not allow of these sections, or null. */
  private String sectionsFor(int req, int res, BodyKind kind) {
    switch (method) {
      case "REQMOD" -> {
        if (res >= 0 || kind == BodyKind.RES_BODY || kind == BodyKind.OPT_BODY) {
          return "REQMOD carries req-hdr and req-body or null-body only";
        }
        return req < 0 ? "REQMOD needs req-hdr" : null;
      }
      case "RESPMOD" -> {
        if (kind == BodyKind.REQ_BODY || kind == BodyKind.OPT_BODY) {
          return "RESPMOD carries res-body or null-body";
        }
        return res < 0 ? "RESPMOD needs res-hdr" : null;
      }
      default -> {
        return req >= 0 || res >= 0 || kind == BodyKind.REQ_BODY || kind == BodyKind.RES_BODY
            ? "OPTIONS carries opt-body or null-body only" : null;
      }
    }
  }

  /** One of the section names, whatever its case, as the constant; else the name in lower case. */
  private static String sectionName(String name) {
    for (String known : SECTION_LIST) {
      if (known.equalsIgnoreCase(name)) {
        return known;
      }
    }
    return name.toLowerCase(Locale.ROOT);
  }

  private static String[][] byLength(String... names) {
    int max = Arrays.stream(names).mapToInt(String::length).max().orElse(0);
    String[][] table = new String[max + 1][];
    for (int len = 0; len <= max; len++) {
      int l = len;
      table[len] = Arrays.stream(names).filter(n -> n.length() == l).toArray(String[]::new);
    }
    return table;
  }

  /** The header name in acc[a, a + len): a constant when it is one of {@link #NAMES_BY_LENGTH}. */
  private String name(int a, int len) {
    if (len < NAMES_BY_LENGTH.length) {
      for (String known : NAMES_BY_LENGTH[len]) {
        int i = 0;
        while (i < len && acc[a + i] == (byte) known.charAt(i)) {
          i++;
        }
        if (i == len) {
          return known;
        }
      }
    }
    return new String(acc, a, len, StandardCharsets.ISO_8859_1);
  }

  private String line(int i) {
    return new String(acc, lines.start(i), lines.end(i) - lines.start(i), StandardCharsets.ISO_8859_1);
  }

  static boolean digits(String s, int max) {
    if (s.isEmpty() || s.length() > max) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  static String printable(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length() && i < 64; i++) {
      char c = s.charAt(i);
      sb.append(c < 32 || c > 126 ? '?' : c);
    }
    return sb.toString();
  }
}
