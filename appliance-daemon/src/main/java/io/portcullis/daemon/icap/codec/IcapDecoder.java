package io.portcullis.daemon.icap.codec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * ICAP message decoder: an explicit state machine fed with bytes as they arrive, split anywhere. It turns a byte
 * stream into {@link Event}s: a {@link Head} (ICAP line, headers, encapsulated HTTP heads), the de-chunked
 * {@link Body} pieces, {@link PreviewEnd} when a preview stops without {@code ieof}, and {@link End}. Bad input is an
 * {@link Error} event, never an exception; after it the decoder takes nothing more. Not thread-safe.
 */
public final class IcapDecoder {

  /** Which side's messages are read: requests (the server) or responses (the client). */
  public enum Mode { REQUEST, RESPONSE }

  /**
   * Bounds on what a peer may send. {@code maxHeadBytes}: the ICAP line and headers; {@code maxHeaderCount}: fields
   * per header block; {@code maxHttpHeadBytes}: all encapsulated HTTP heads of one message; {@code maxChunkSize}: one
   * chunk's declared size; {@code maxPreview}: the {@code Preview} value.
   */
  public record Limits(int maxHeadBytes, int maxHeaderCount, int maxHttpHeadBytes, long maxChunkSize, int maxPreview) {
    public static final Limits DEFAULTS = new Limits(16 * 1024, 100, 64 * 1024, 16L * 1024 * 1024, 1024 * 1024);
  }

  /** What the decoder found. */
  public sealed interface Event permits Head, Body, PreviewEnd, End, Error {
  }

  /** A message head. A message without body is followed at once by {@link End}. */
  public record Head(IcapMessage message) implements Event {
  }

  /** A piece of the de-chunked body; a view of the input, valid until the next call to the decoder. */
  public record Body(ByteBuffer data) implements Event {
  }

  /** The preview ended without {@code ieof}: call {@link #continueBody} after 100 Continue, or {@link #skipBody}. */
  public record PreviewEnd() implements Event {
  }

  /** The message is complete (after {@code 0; ieof} in a preview too); {@code trailers} may be empty. */
  public record End(Headers trailers) implements Event {
  }

  /** The input is not a valid ICAP message: why. The decoder is done. */
  public record Error(String reason) implements Event {
  }

  private enum State { HEAD, HTTP_HEADS, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS, PREVIEW_PAUSE, FAILED }

  private static final int MAX_CHUNK_LINE = 4096;
  private static final Set<String> METHODS = Set.of("OPTIONS", "REQMOD", "RESPMOD");
  private static final List<String> SECTION_LIST =
      List.of("req-hdr", "res-hdr", "req-body", "res-body", "null-body", "opt-body");
  private static final Set<String> SECTION_NAMES = Set.copyOf(SECTION_LIST);

  private final Mode mode;
  private final Limits limits;
  private State state = State.HEAD;
  private byte[] acc = new byte[512];
  private int accLen;
  private ByteBuffer pending;
  private boolean leadingCr;

  // The message being read.
  private String method;
  private String uri;
  private int status;
  private String reason;
  private Headers icapHeaders;
  private List<String> sectionNames;
  private int[] sectionOffsets;
  // The lines of the header block being parsed: acc[lineStarts[i], lineEnds[i]), CRLF excluded.
  private int[] lineStarts = new int[32];
  private int[] lineEnds = new int[32];
  private int lineCount;
  private BodyKind bodyKind;
  private int preview;
  private boolean previewActive;
  private long previewBytes;
  private long chunkRemaining;
  private boolean lastChunkIeof;

  public IcapDecoder(Mode mode, Limits limits) {
    this.mode = mode;
    this.limits = limits;
  }

  /** True between messages, when no byte of a next message has arrived. */
  public boolean idle() {
    return state == State.HEAD && accLen == 0 && !leadingCr;
  }

  /** True after an {@link Error}. */
  public boolean failed() {
    return state == State.FAILED;
  }

  /** Decodes what {@code in} holds (consuming all of it); returns the events it completes, in order. */
  public List<Event> feed(ByteBuffer in) {
    List<Event> out = new ArrayList<>(4);
    run(in, out);
    return out;
  }

  /** After a {@link PreviewEnd} and a 100 Continue: the rest of the body follows. */
  public List<Event> continueBody() {
    if (state == State.FAILED) {
      return List.of(); // the Error was already given (the client sent too much while we decided)
    }
    requirePause();
    state = State.CHUNK_SIZE;
    return drainPending();
  }

  /** After a {@link PreviewEnd} answered with a final response: the client sends no more body; a new message follows. */
  public List<Event> skipBody() {
    if (state == State.FAILED) {
      return List.of();
    }
    requirePause();
    reset();
    return drainPending();
  }

  private void requirePause() {
    if (state != State.PREVIEW_PAUSE) {
      throw new IllegalStateException("no preview is waiting for an answer");
    }
  }

  private List<Event> drainPending() {
    List<Event> out = new ArrayList<>(4);
    ByteBuffer p = pending;
    pending = null;
    if (p != null) {
      p.flip();
      run(p, out);
    }
    return out;
  }

  private void run(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      switch (state) {
        case HEAD -> readHead(in, out);
        case HTTP_HEADS -> readHttpHeads(in, out);
        case CHUNK_SIZE -> readChunkSize(in, out);
        case CHUNK_DATA -> readChunkData(in, out);
        case CHUNK_CRLF -> readChunkCrlf(in, out);
        case TRAILERS -> readTrailers(in, out);
        case PREVIEW_PAUSE -> stash(in, out);
        case FAILED -> {
          in.position(in.limit());
          return;
        }
      }
    }
  }

  private void fail(List<Event> out, String why) {
    out.add(new Error(why));
    state = State.FAILED;
    accLen = 0;
    pending = null;
  }

  private void reset() {
    state = State.HEAD;
    accLen = 0;
    method = null;
    uri = null;
    icapHeaders = null;
    sectionNames = null;
    sectionOffsets = null;
    bodyKind = null;
    preview = -1;
    previewActive = false;
    previewBytes = 0;
  }

  private void append(byte b) {
    if (accLen == acc.length) {
      acc = Arrays.copyOf(acc, acc.length * 2);
    }
    acc[accLen++] = b;
  }

  private boolean endsWithBlankLine() {
    return accLen >= 4 && acc[accLen - 1] == '\n' && acc[accLen - 2] == '\r' && acc[accLen - 3] == '\n'
        && acc[accLen - 4] == '\r';
  }

  // ---- ICAP head -------------------------------------------------------------------------------------------------

  private void readHead(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      if (accLen == 0) {
        // Tolerate whole CRLFs between messages (RFC 9112 2.2), never a bare CR or LF.
        byte b = in.get(in.position());
        if (leadingCr) {
          leadingCr = false;
          if (b != '\n') {
            fail(out, "bare CR before the ICAP start line");
            return;
          }
          in.get();
          continue;
        }
        if (b == '\r') {
          leadingCr = true;
          in.get();
          continue;
        }
        if (b == '\n') {
          fail(out, "bare LF before the ICAP start line");
          return;
        }
      }
      // Up to and including the next LF, in one copy (byte by byte this was the decoder's largest cost).
      int room = limits.maxHeadBytes() - accLen;
      if (room <= 0) {
        fail(out, "ICAP header section is larger than " + limits.maxHeadBytes() + " bytes");
        return;
      }
      int pos = in.position();
      int end = Math.min(in.limit(), pos + room);
      int lf = -1;
      for (int i = pos; i < end; i++) {
        if (in.get(i) == '\n') {
          lf = i;
          break;
        }
      }
      int n = (lf < 0 ? end : lf + 1) - pos;
      if (accLen + n > acc.length) {
        acc = Arrays.copyOf(acc, Math.max(acc.length * 2, accLen + n));
      }
      in.get(acc, accLen, n);
      accLen += n;
      if (lf >= 0) {
        if (accLen < 2 || acc[accLen - 2] != '\r') {
          fail(out, "bare LF in the ICAP header section");
          return;
        }
        if (endsWithBlankLine()) {
          parseIcapHead(out);
          return;
        }
      }
    }
  }

  private void parseIcapHead(List<Event> out) {
    reset0();
    String lineError = splitLines(0, accLen - 4, false, "bare CR or LF in the ICAP header section", null);
    if (lineError != null) {
      fail(out, lineError);
      return;
    }
    String startLine = line(0);
    String startError = mode == Mode.REQUEST ? parseRequestLine(startLine) : parseStatusLine(startLine);
    if (startError != null) {
      fail(out, startError);
      return;
    }
    List<Headers.Field> fields = new ArrayList<>(lineCount);
    String fieldError = parseFields(1, fields, "ICAP");
    if (fieldError != null) {
      fail(out, fieldError);
      return;
    }
    List<String> encapsulated = new ArrayList<>();
    List<String> previews = new ArrayList<>();
    List<Headers.Field> kept = new ArrayList<>(fields.size());
    for (Headers.Field f : fields) {
      if (f.name().equalsIgnoreCase("Encapsulated")) {
        encapsulated.add(f.value());
      } else if (mode == Mode.REQUEST && f.name().equalsIgnoreCase("Preview")) {
        previews.add(f.value());
      } else {
        kept.add(f);
      }
    }
    icapHeaders = Headers.ofFields(kept);
    if (encapsulated.size() > 1) {
      fail(out, "Encapsulated is given more than once");
      return;
    }
    String encError;
    if (encapsulated.isEmpty()) {
      boolean optional = mode == Mode.RESPONSE || "OPTIONS".equals(method);
      if (!optional) {
        fail(out, "Encapsulated header is missing");
        return;
      }
      sectionNames = List.of("null-body");
      sectionOffsets = new int[] {0};
      bodyKind = BodyKind.NULL_BODY;
      encError = null;
    } else {
      encError = parseEncapsulated(encapsulated.get(0));
    }
    if (encError != null) {
      fail(out, "Encapsulated: " + encError);
      return;
    }
    preview = -1;
    if (mode == Mode.REQUEST && !previews.isEmpty()) {
      if (previews.size() > 1) {
        fail(out, "Preview is given more than once");
        return;
      }
      String p = previews.get(0);
      if (!digits(p, 9) || Integer.parseInt(p) > limits.maxPreview()) {
        fail(out, "Preview \"" + p + "\" is not a byte count up to " + limits.maxPreview());
        return;
      }
      preview = Integer.parseInt(p);
    }
    int headBytes = sectionOffsets[sectionOffsets.length - 1];
    if (headBytes > limits.maxHttpHeadBytes()) {
      fail(out, "encapsulated HTTP headers are larger than " + limits.maxHttpHeadBytes() + " bytes");
      return;
    }
    accLen = 0;
    state = State.HTTP_HEADS;
    if (headBytes == 0) {
      finishHttpHeads(out);
    }
  }

  private void reset0() {
    method = null;
    uri = null;
    status = 0;
    reason = null;
  }

  private String parseRequestLine(String line) {
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

  private String parseStatusLine(String line) {
    if (!line.startsWith("ICAP/1.0 ") || line.length() < 12 || !Character.isDigit(line.charAt(9))
        || !Character.isDigit(line.charAt(10)) || !Character.isDigit(line.charAt(11))
        || (line.length() > 12 && line.charAt(12) != ' ')) {
      return "ICAP status line is not ICAP/1.0 SP 3DIGIT SP reason";
    }
    status = Integer.parseInt(line.substring(9, 12));
    reason = line.length() > 13 ? line.substring(13) : "";
    return null;
  }

  /**
   * Splits acc[from, end) on CRLF into the line offsets ({@link #lineCount} lines); returns an error or null: {@code
   * bare} for a CR or LF not in a CRLF (or a NUL, with {@code nul}), {@code empty} (when not null) for an empty line.
   * Offsets rather than Strings: a String per line, then per name and value, was the decoder's largest cost.
   */
  private String splitLines(int from, int end, boolean nul, String bare, String empty) {
    lineCount = 0;
    int start = from;
    for (int i = from; i < end; i++) {
      byte b = acc[i];
      if (b > '\r') {
        continue; // the usual byte: one compare
      }
      if (b == '\r' && i + 1 < end && acc[i + 1] == '\n') {
        if (empty != null && i == start) {
          return empty;
        }
        addLine(start, i);
        start = i + 2;
        i++;
      } else if (b == '\r' || b == '\n' || (nul && b == 0)) {
        return bare;
      }
    }
    if (empty != null && end == start) {
      return empty;
    }
    addLine(start, end);
    return null;
  }

  private void addLine(int start, int end) {
    if (lineCount == lineStarts.length) {
      lineStarts = Arrays.copyOf(lineStarts, lineCount * 2);
      lineEnds = Arrays.copyOf(lineEnds, lineCount * 2);
    }
    lineStarts[lineCount] = start;
    lineEnds[lineCount++] = end;
  }

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

  private static String[][] byLength(String... names) {
    int max = 0;
    for (String n : names) {
      max = Math.max(max, n.length());
    }
    String[][] table = new String[max + 1][];
    for (int len = 0; len <= max; len++) {
      final int l = len;
      table[len] = java.util.Arrays.stream(names).filter(n -> n.length() == l).toArray(String[]::new);
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
    return new String(acc, lineStarts[i], lineEnds[i] - lineStarts[i], StandardCharsets.ISO_8859_1);
  }

  /** Parses the {@code name: value} lines from line {@code first} on into {@code into}; returns an error or null. */
  private String parseFields(int first, List<Headers.Field> into, String what) {
    if (lineCount - first > limits.maxHeaderCount()) {
      return what + " header has more than " + limits.maxHeaderCount() + " fields";
    }
    for (int i = first; i < lineCount; i++) {
      int a = lineStarts[i];
      int b = lineEnds[i];
      if (a == b) {
        return "empty line inside the " + what + " header";
      }
      byte firstByte = acc[a];
      if (firstByte == ' ' || firstByte == '\t') {
        return what + " header uses obsolete line folding";
      }
      int colon = -1;
      for (int c = a; c < b; c++) {
        if (acc[c] == ':') {
          colon = c;
          break;
        }
      }
      if (colon <= a) {
        return what + " header line has no name: \"" + printable(line(i)) + "\"";
      }
      for (int c = a; c < colon; c++) {
        if (!isTokenChar((char) (acc[c] & 0xff))) {
          return what + " header name \"" + printable(new String(acc, a, colon - a, StandardCharsets.ISO_8859_1))
              + "\" is not a token";
        }
      }
      // The value without the whitespace String.strip() takes off (Character.isWhitespace), then no control
      // character inside it but a tab.
      int vs = colon + 1;
      int ve = b;
      while (vs < ve && Character.isWhitespace((char) (acc[vs] & 0xff))) {
        vs++;
      }
      while (ve > vs && Character.isWhitespace((char) (acc[ve - 1] & 0xff))) {
        ve--;
      }
      for (int c = vs; c < ve; c++) {
        int ch = acc[c] & 0xff;
        if (ch == 0 || (ch < ' ' && ch != '\t') || ch == 0x7f) {
          return what + " header " + new String(acc, a, colon - a, StandardCharsets.ISO_8859_1)
              + " has a control character";
        }
      }
      into.add(new Headers.Field(name(a, colon - a), new String(acc, vs, ve - vs, StandardCharsets.ISO_8859_1)));
    }
    return null;
  }

  private String parseEncapsulated(String value) {
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
    if (mode == Mode.REQUEST) {
      switch (method) {
        case "REQMOD" -> {
          if (res >= 0 || kind == BodyKind.RES_BODY || kind == BodyKind.OPT_BODY) {
            return "REQMOD carries req-hdr and req-body or null-body only";
          }
          if (req < 0) {
            return "REQMOD needs req-hdr";
          }
        }
        case "RESPMOD" -> {
          if (kind == BodyKind.REQ_BODY || kind == BodyKind.OPT_BODY) {
            return "RESPMOD carries res-body or null-body";
          }
          if (res < 0) {
            return "RESPMOD needs res-hdr";
          }
        }
        default -> {
          if (req >= 0 || res >= 0 || kind == BodyKind.REQ_BODY || kind == BodyKind.RES_BODY) {
            return "OPTIONS carries opt-body or null-body only";
          }
        }
      }
    }
    sectionNames = names;
    sectionOffsets = offsets;
    bodyKind = kind;
    return null;
  }

  /** One of the section names, whatever its case, as the constant; else the name in lower case. */
  private static String sectionName(String name) {
    for (String known : SECTION_LIST) {
      if (known.equalsIgnoreCase(name)) {
        return known;
      }
    }
    return name.toLowerCase(java.util.Locale.ROOT);
  }

  // ---- encapsulated HTTP heads -------------------------------------------------------------------------------------

  private void readHttpHeads(ByteBuffer in, List<Event> out) {
    int need = sectionOffsets[sectionOffsets.length - 1] - accLen;
    int n = Math.min(need, in.remaining());
    if (accLen + n > acc.length) {
      acc = Arrays.copyOf(acc, Math.max(acc.length * 2, accLen + n));
    }
    in.get(acc, accLen, n);
    accLen += n;
    if (n == need) {
      finishHttpHeads(out);
    }
  }

  private void finishHttpHeads(List<Event> out) {
    HttpHead httpRequest = null;
    HttpHead httpResponse = null;
    for (int i = 0; i < sectionNames.size() - 1; i++) {
      String name = sectionNames.get(i);
      int from = sectionOffsets[i];
      int to = sectionOffsets[i + 1];
      Object head = parseHttpHead(from, to, name.equals("req-hdr"));
      if (head instanceof String error) {
        fail(out, name + ": " + error);
        return;
      }
      if (name.equals("req-hdr")) {
        httpRequest = (HttpHead) head;
      } else {
        httpResponse = (HttpHead) head;
      }
    }
    IcapMessage message = mode == Mode.REQUEST
        ? new IcapRequest(method, uri, icapHeaders, httpRequest, httpResponse, bodyKind, preview)
        : new IcapResponse(status, reason, icapHeaders, httpRequest, httpResponse, bodyKind);
    out.add(new Head(message));
    accLen = 0;
    if (!bodyKind.hasBody()) {
      out.add(new End(Headers.EMPTY));
      reset();
      return;
    }
    previewActive = mode == Mode.REQUEST && preview >= 0;
    previewBytes = 0;
    state = State.CHUNK_SIZE;
  }

  /** An HTTP head in acc[from, to), or a String saying what is wrong with it. */
  private Object parseHttpHead(int from, int to, boolean request) {
    int len = to - from;
    if (len < 4 || acc[to - 1] != '\n' || acc[to - 2] != '\r' || acc[to - 3] != '\n' || acc[to - 4] != '\r') {
      return "the header block does not end with an empty line exactly at the next offset";
    }
    String lineError = splitLines(from, to - 4, true, "bare CR, LF or NUL in the HTTP header block",
        "an empty line ends the header block before the next offset");
    if (lineError != null) {
      return lineError;
    }
    String start = line(0);
    if (request) {
      int sp1 = start.indexOf(' ');
      int sp2 = sp1 < 0 ? -1 : start.indexOf(' ', sp1 + 1);
      if (sp2 < 0 || start.indexOf(' ', sp2 + 1) >= 0 || sp1 == 0 || sp2 == sp1 + 1 || !httpVersion(start, sp2 + 1)) {
        return "\"" + printable(start) + "\" is not an HTTP request line";
      }
      for (int c = 0; c < sp1; c++) {
        if (!isTokenChar(start.charAt(c))) {
          return "HTTP method \"" + printable(start.substring(0, sp1)) + "\" is not a token";
        }
      }
    } else if (!statusLine(start)) {
      return "\"" + printable(start) + "\" is not an HTTP status line";
    }
    List<Headers.Field> fields = new ArrayList<>(lineCount);
    String error = parseFields(1, fields, "HTTP");
    if (error != null) {
      return error;
    }
    return new HttpHead(start, Headers.ofFields(fields));
  }

  // ---- chunked body --------------------------------------------------------------------------------------------------

  private void readChunkSize(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      byte b = in.get();
      if (accLen >= MAX_CHUNK_LINE) {
        fail(out, "chunk size line is longer than " + MAX_CHUNK_LINE + " bytes");
        return;
      }
      append(b);
      if (b == '\n') {
        if (accLen < 2 || acc[accLen - 2] != '\r') {
          fail(out, "chunk size line ends with a bare LF");
          return;
        }
        parseChunkSize(out);
        return;
      }
    }
  }

  private void parseChunkSize(List<Event> out) {
    int end = accLen - 2;
    int i = 0;
    long size = 0;
    while (i < end && Character.digit(acc[i], 16) >= 0) {
      if (i >= 15) {
        fail(out, "chunk size has more than 15 hex digits");
        return;
      }
      size = size * 16 + Character.digit(acc[i], 16);
      i++;
    }
    if (i == 0) {
      fail(out, "chunk size is not a hex number");
      return;
    }
    if (size > limits.maxChunkSize()) {
      fail(out, "chunk size " + size + " is larger than " + limits.maxChunkSize());
      return;
    }
    Boolean ieof = parseExtensions(i, end);
    if (ieof == null) {
      fail(out, "chunk extension is malformed");
      return;
    }
    accLen = 0;
    if (size > 0) {
      if (ieof) {
        fail(out, "ieof on a chunk that carries data");
        return;
      }
      if (previewActive) {
        previewBytes += size;
        if (previewBytes > preview) {
          fail(out, "preview carries more than the " + preview + " bytes of its Preview header");
          return;
        }
      }
      chunkRemaining = size;
      state = State.CHUNK_DATA;
      return;
    }
    if (ieof && !previewActive) {
      fail(out, "ieof outside a preview");
      return;
    }
    lastChunkIeof = ieof;
    state = State.TRAILERS;
  }

  /** Reads {@code *( OWS ";" OWS name [ OWS "=" OWS value ] )} in acc[from, end); TRUE if ieof is among them, null if malformed. */
  private Boolean parseExtensions(int from, int end) {
    boolean ieof = false;
    int i = from;
    while (true) {
      while (i < end && (acc[i] == ' ' || acc[i] == '\t')) {
        i++;
      }
      if (i == end) {
        return ieof;
      }
      if (acc[i] != ';') {
        return null;
      }
      i++;
      while (i < end && (acc[i] == ' ' || acc[i] == '\t')) {
        i++;
      }
      int nameStart = i;
      while (i < end && isTokenChar((char) (acc[i] & 0xff))) {
        i++;
      }
      if (i == nameStart) {
        return null;
      }
      String name = new String(acc, nameStart, i - nameStart, StandardCharsets.ISO_8859_1);
      while (i < end && (acc[i] == ' ' || acc[i] == '\t')) {
        i++;
      }
      if (i < end && acc[i] == '=') {
        i++;
        while (i < end && (acc[i] == ' ' || acc[i] == '\t')) {
          i++;
        }
        if (i < end && acc[i] == '"') {
          i++;
          boolean closed = false;
          while (i < end) {
            byte c = acc[i];
            if (c == '"') {
              closed = true;
              i++;
              break;
            }
            if (c == '\\') {
              i++;
              if (i == end) {
                return null;
              }
              c = acc[i];
            }
            if (c == '\r' || c == '\n' || c == 0 || c == 0x7f) {
              return null;
            }
            i++;
          }
          if (!closed) {
            return null;
          }
        } else {
          int valueStart = i;
          while (i < end && isTokenChar((char) (acc[i] & 0xff))) {
            i++;
          }
          if (i == valueStart) {
            return null;
          }
        }
      }
      if (name.equalsIgnoreCase("ieof")) {
        ieof = true;
      }
    }
  }

  private void readChunkData(ByteBuffer in, List<Event> out) {
    int n = (int) Math.min(chunkRemaining, in.remaining());
    ByteBuffer slice = in.slice(in.position(), n);
    in.position(in.position() + n);
    chunkRemaining -= n;
    out.add(new Body(slice));
    if (chunkRemaining == 0) {
      state = State.CHUNK_CRLF;
      accLen = 0;
    }
  }

  private void readChunkCrlf(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      byte b = in.get();
      if ((accLen == 0 && b != '\r') || (accLen == 1 && b != '\n')) {
        fail(out, "chunk data is not followed by CRLF");
        return;
      }
      if (++accLen == 2) {
        accLen = 0;
        state = State.CHUNK_SIZE;
        return;
      }
    }
  }

  private void readTrailers(ByteBuffer in, List<Event> out) {
    while (in.hasRemaining()) {
      byte b = in.get();
      if (accLen >= limits.maxHeadBytes()) {
        fail(out, "trailer section is larger than " + limits.maxHeadBytes() + " bytes");
        return;
      }
      append(b);
      if (b != '\n') {
        continue;
      }
      if (accLen < 2 || acc[accLen - 2] != '\r') {
        fail(out, "trailer line ends with a bare LF");
        return;
      }
      if (accLen == 2 || endsWithBlankLine()) {
        Headers trailers = Headers.EMPTY;
        if (accLen > 2) {
          String error = splitLines(0, accLen - 4, false, "bare CR or LF in the trailers", null);
          List<Headers.Field> fields = new ArrayList<>();
          if (error == null) {
            error = parseFields(0, fields, "trailer");
          }
          if (error != null) {
            fail(out, error);
            return;
          }
          trailers = Headers.ofFields(fields);
        }
        endOfBody(out, trailers);
        return;
      }
    }
  }

  private void endOfBody(List<Event> out, Headers trailers) {
    accLen = 0;
    if (previewActive) {
      previewActive = false;
      if (lastChunkIeof) {
        out.add(new End(trailers));
        reset();
      } else {
        out.add(new PreviewEnd());
        state = State.PREVIEW_PAUSE;
      }
      return;
    }
    out.add(new End(trailers));
    reset();
  }

  private void stash(ByteBuffer in, List<Event> out) {
    int n = in.remaining();
    int held = pending == null ? 0 : pending.position();
    if (held + n > limits.maxHeadBytes() + limits.maxHttpHeadBytes()) {
      fail(out, "client sent more than the preview before an answer");
      return;
    }
    if (pending == null || pending.remaining() < n) {
      ByteBuffer bigger = ByteBuffer.allocate(Math.max(1024, (held + n) * 2));
      if (pending != null) {
        pending.flip();
        bigger.put(pending);
      }
      pending = bigger;
    }
    pending.put(in);
  }

  private static boolean digits(String s, int max) {
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

  /** {@code HTTP/d.d} at {@code at}, and nothing else after it. */
  private static boolean httpVersion(String s, int at) {
    return s.length() == at + 8 && s.startsWith("HTTP/", at) && Character.isDigit(s.charAt(at + 5))
        && s.charAt(at + 6) == '.' && Character.isDigit(s.charAt(at + 7));
  }

  /** {@code HTTP/d.d SP 3DIGIT [SP reason]}. */
  private static boolean statusLine(String s) {
    if (s.length() < 12 || !httpVersion(s.substring(0, 8), 0) || s.charAt(8) != ' ') {
      return false;
    }
    for (int i = 9; i < 12; i++) {
      if (!Character.isDigit(s.charAt(i))) {
        return false;
      }
    }
    return s.length() == 12 || s.charAt(12) == ' ';
  }

  /** RFC 9110 tchar, by table: it is asked for every character of every header name. */
  private static final boolean[] TOKEN = new boolean[128];

  static {
    for (char c = 33; c < 127; c++) {
      TOKEN[c] = "()<>@,;:\\\"/[]?={}".indexOf(c) < 0;
    }
  }

  static boolean isTokenChar(char c) {
    return c < 128 && TOKEN[c];
  }

  private static String printable(String s) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < s.length() && i < 64; i++) {
      char c = s.charAt(i);
      sb.append(c < 32 || c > 126 ? '?' : c);
    }
    return sb.toString();
  }
}
