package io.portcullis.daemon.reliability;

import java.util.ArrayList;
import java.util.List;

/**
 * Hostile requests to a forward proxy generated from families (framing, chunk sizes, line endings, headers, request
 * lines, CONNECT targets, Expect; the classes of {@link HostileClasses}) and broken upstream answers. Each case asks
 * for {@code /hN} on the origin; a request hidden in it asks for {@code /SMUGGLED-hN}, which must never reach the
 * origin as a request. Each case says what must come of it ({@link Expect}): the exact statuses, whether the
 * connection closes after them, and what the origin may have got.
 */
final class HostileHttp {
  /** What the origin may have got of a case's request. */
  enum Origin {
    /** Nothing, not even its head. */
    NOTHING,
    /** Its head may have gone on (only its body is bad), never the whole request. */
    CUT,
    /** Exactly once, whole, with the body the case sends. */
    ONCE,
    /** The case does not say (its request names no {@code /hN}). */
    ANY
  }

  /** A check of what the client got ({@code answer}) and what the origin got of {@code /hN}; null if sound. */
  interface Check {
    String fault(String answer, List<CountingOrigin.Seen> seen);
  }

  /**
   * What must come of a case: {@code statuses} exactly (interim 1xx aside); then the close, or the sentinel served
   * after them; the origin's share of {@code /hN} ({@code body} bytes if ONCE) and of {@code /hN/2}; a last check.
   */
  record Expect(List<Integer> statuses, boolean closes, Origin origin, int body, Origin second, Check check) {
    /** Refused before anything goes on: {@code status}, the close, nothing at the origin. */
    static Expect refused(int status) {
      return new Expect(List.of(status), true, Origin.NOTHING, -1, Origin.ANY, null);
    }

    /** Refused in the body: {@code status} and the close; the head may have gone on, never the whole request. */
    static Expect refusedInBody(int status) {
      return new Expect(List.of(status), true, Origin.CUT, -1, Origin.ANY, null);
    }

    /** Served: 200, the connection goes on; the origin got the request once with {@code body} bytes. */
    static Expect passes(int body) {
      return new Expect(List.of(200), false, Origin.ONCE, body, Origin.ANY, null);
    }

    /** Answered by the proxy itself with {@code status}, the connection kept; nothing at the origin. */
    static Expect kept(int status) {
      return new Expect(List.of(status), false, Origin.NOTHING, -1, Origin.ANY, null);
    }

    /** A broken answer from the origin: {@code status} to the client; the origin got the request once. */
    static Expect answered(int status) {
      return new Expect(List.of(status), false, Origin.ONCE, -1, Origin.ANY, null);
    }

    /** These statuses instead. */
    Expect statuses(Integer... s) {
      return new Expect(List.of(s), closes, origin, body, second, check);
    }

    /** Then the connection closes (nothing after these statuses is served). */
    Expect closing() {
      return new Expect(statuses, true, origin, body, second, check);
    }

    /** The origin's share of {@code /hN} is {@code o} instead. */
    Expect origin(Origin o) {
      return new Expect(statuses, closes, o, body, second, check);
    }

    /** The origin's share of a second request, {@code /hN/2}, is {@code o}. */
    Expect second(Origin o) {
      return new Expect(statuses, closes, origin, body, o, check);
    }

    /** And {@code c} holds. */
    Expect check(Check c) {
      return new Expect(statuses, closes, origin, body, second, c);
    }
  }

  /** A case: its family, name, bytes, what must come of it; {@code auth}: sent to the proxy that asks for a login. */
  record Case(String family, String name, String bytes, Expect expect, boolean auth) {
  }

  final String origin;
  private final List<Case> cases = new ArrayList<>();
  private String family;
  private boolean auth;

  private HostileHttp(int originPort) {
    this.origin = "127.0.0.1:" + originPort;
  }

  /** Every generated case; the answers of the upstream ones are registered with {@code o}. */
  static List<Case> all(CountingOrigin o) {
    HostileHttp h = new HostileHttp(o.port());
    h.transferEncodings();
    h.contentLengths();
    h.chunkSizes();
    h.lineEndings();
    h.headers();
    h.requestLines();
    h.connectTargets();
    h.expect();
    HostileClasses.all(h);
    HostileAnswers.all(h, o);
    return h.cases;
  }

  /** The cases from here on are of family {@code f}; {@code auth}: they go to the proxy that asks for a login. */
  void family(String f, boolean auth) {
    this.family = f;
    this.auth = auth;
  }

  String path() {
    return "/h" + cases.size();
  }

  String url() {
    return "http://" + origin + path();
  }

  String smuggled() {
    return "GET http://" + origin + "/SMUGGLED-h" + cases.size() + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n";
  }

  String head(String method, String extra) {
    return method + " " + url() + " HTTP/1.1\r\nHost: " + origin + "\r\n" + extra;
  }

  void add(String name, String bytes, Expect expect) {
    cases.add(new Case(family, name, bytes, expect, auth));
  }

  /**
   * Transfer-Encoding spellings, names and whitespace, alone (a body of 5) or with a Content-Length hiding a request.
   * Only {@code chunked} (any case, OWS around) under the real name frames a body; beside a Content-Length it is
   * refused all the same. Transfer_Encoding is another field: the chunks after it are a next request, and garbage.
   */
  private void transferEncodings() {
    family("framing: Transfer-Encoding", false);
    List<String> names = List.of("Transfer-Encoding", "transfer-encoding", "TRANSFER-ENCODING", "Transfer-Encoding ",
        "Transfer_Encoding", "Transfer-Encoding\t", " Transfer-Encoding");
    List<String> chunked = List.of("chunked", " chunked", "chunked ", "\tchunked", "Chunked", "CHUNKED");
    List<String> values = new ArrayList<>(chunked);
    values.addAll(List.of("chunked, identity", "identity, chunked", "gzip, chunked", "x-chunked", "chunked;q=1",
        "chunk", "chunked\u000b", "\"chunked\""));
    for (String n : names) {
      boolean real = n.equalsIgnoreCase("Transfer-Encoding");
      boolean other = n.equals("Transfer_Encoding");
      String shown = n.strip() + (n.equals(n.strip()) ? "" : "(ws)");
      for (String v : values) {
        boolean control = v.indexOf('\u000b') >= 0; // refused in any field
        String name = shown + ": [" + v.replace("\u000b", "VT") + "]";
        add(name + " alone", head("POST", n + ":" + " " + v + "\r\n\r\n") + "5\r\nhello\r\n0\r\n\r\n",
            real && chunked.contains(v) ? Expect.passes(5)
                : other && !control ? Expect.passes(0).statuses(200, 400).closing() : Expect.refused(400));
        String hidden = "0\r\n\r\n" + smuggled();
        add(name + " with CL", head("POST", "Content-Length: " + hidden.length() + "\r\n" + n + ": " + v
            + "\r\n\r\n") + hidden, other && !control ? Expect.passes(hidden.length()) : Expect.refused(400));
      }
    }
  }

  /** Content-Length values, alone and duplicated (refused even when equal); a body of 5 bytes follows. */
  private void contentLengths() {
    family("framing: Content-Length", false);
    List<String> sound = List.of("5", "05", "5 ", " 5");
    List<String> values = List.of("5", "05", "+5", "-5", "0x5", "5 ", " 5", "5,5", "5, 6", "5.0", "1e1", "",
        "99999999999999999999", "5\u000b", "５");
    for (String v : values) {
      add("CL [" + v.replace("\u000b", "VT") + "]", head("POST", "Content-Length: " + v + "\r\n\r\n") + "hello",
          sound.contains(v) ? Expect.passes(5) : Expect.refused(400));
      add("CL [" + v.replace("\u000b", "VT") + "] twice", head("POST", "Content-Length: " + v + "\r\nContent-Length: " + v + "\r\n\r\n")
          + "hello", Expect.refused(400));
      add("CL 5 and [" + v.replace("\u000b", "VT") + "]", head("POST", "Content-Length: 5\r\nContent-Length: " + v + "\r\n\r\n") + "hello",
          Expect.refused(400));
    }
  }

  /** Chunk-size lines: signs, prefixes, overflow, extensions with quotes and bare CR/LF; with CRLF or bare LF. */
  private void chunkSizes() {
    family("framing: chunk sizes", false);
    List<String> sound = List.of("5", "05", "5;ext", "5;ext=\"q\"", "5;e=\"a\\\"b\"", "5 ;x");
    List<String> sizes = List.of("5", "05", "+5", "-5", "0x5", "5 ", " 5", "5;ext", "5;ext=\"q\"", "5;ext=\"unterminated",
        "5;\rx", "5;e=\"a\\\"b\"", "fffffffffffffffff5", "5\u0000", "5 ;x", "g", "", "5;" + "x".repeat(5000));
    for (String eol : List.of("\r\n", "\n")) {
      for (String s : sizes) {
        add("chunk [" + s.replace("\r", "\\r") + "]" + (eol.equals("\n") ? " LF" : ""),
            head("POST", "Transfer-Encoding: chunked\r\n\r\n") + s + eol + "hello" + eol + "0" + eol + eol,
            eol.equals("\r\n") && sound.contains(s) ? Expect.passes(5) : Expect.refusedInBody(400));
      }
    }
    add("trailer with obs-fold", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n",
        Expect.refusedInBody(400));
    add("trailer Content-Length", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n", Expect.passes(5));
    add("chunk data longer than its size", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello-and-more\r\n0\r\n\r\n" + smuggled(), Expect.refusedInBody(400));
    add("missing final chunk, a request after", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n"
        + smuggled(), Expect.refusedInBody(400));
  }

  /** Bare LF, bare CR, CR CR LF, LF CR and NUL at the request line, a header line and the blank line. */
  private void lineEndings() {
    family("line endings", false);
    List<String> endings = List.of("\n", "\r", "\r\r\n", "\n\r", "\u0000\r\n", " \r\n", "\r\n\r\n\r\n");
    for (String e : endings) {
      String shown = e.replace("\r", "CR").replace("\n", "LF").replace("\u0000", "NUL").replace(" ", "SP");
      add("request line ends " + shown, "GET " + url() + " HTTP/1.1" + e + "Host: " + origin + "\r\n\r\n",
          Expect.refused(400));
      // Trailing OWS is sound; CRLF CRLF ends the head, and "X-B: 2" is then a bad request line.
      add("header line ends " + shown, head("GET", "X-A: 1" + e + "X-B: 2\r\n\r\n"), switch (e) {
        case " \r\n" -> Expect.passes(0);
        case "\r\n\r\n\r\n" -> Expect.passes(0).statuses(200, 400).closing();
        default -> Expect.refused(400);
      });
      // CRLF CRLF CRLF: the body is "\r\n\r\nh", and the sentinel follows "ello" (a method "elloGET", served).
      add("blank line is " + shown, head("POST", "Content-Length: 5\r\n") + e + "hello",
          e.equals("\r\n\r\n\r\n") ? Expect.passes(5) : Expect.refused(400));
    }
  }

  /** obs-fold, space before the colon, odd names, oversized lines and counts, duplicate Host. */
  private void headers() {
    family("headers", false);
    for (String h : List.of("Host", "Content-Length", "Transfer-Encoding", "X-Any", "Connection")) {
      add("obs-fold in " + h, head("GET", h + ": a\r\n b\r\n\r\n"), Expect.refused(400));
      add("space before colon in " + h, head("GET", h + " : 1\r\n\r\n"), Expect.refused(400));
      add("tab before colon in " + h, head("GET", h + "\t: 1\r\n\r\n"), Expect.refused(400));
    }
    for (String n : List.of("", "X Y", "X@Y", "(X)", "X\u0000Y", "X\u007fY", "Ü", ":")) {
      add("header name [" + n.replace("\u0000", "NUL") + "]", head("GET", n + ": v\r\n\r\n"), Expect.refused(400));
    }
    add("value with NUL", head("GET", "X-A: a\u0000b\r\n\r\n"), Expect.refused(400));
    add("value with bare CR", head("GET", "X-A: a\rb\r\n\r\n"), Expect.refused(400));
    add("header line 70 KiB", head("GET", "X-A: " + "a".repeat(70_000) + "\r\n\r\n"), Expect.refused(431));
    add("2000 headers", head("GET", "X-A: 1\r\n".repeat(2000) + "\r\n"), Expect.refused(431));
    add("two different Host", head("GET", "Host: other.test\r\n\r\n"), Expect.refused(400));
    add("no colon", head("GET", "NoColonHere\r\n\r\n"), Expect.refused(400));
    add("Connection: close, hidden request after", head("GET", "Connection: close\r\n\r\n") + smuggled(),
        Expect.passes(0).closing());
  }

  /** Methods, URIs and versions. */
  private void requestLines() {
    family("request lines", false);
    List<String> sound = List.of("get", "PROPFIND", "M".repeat(300)); // tokens: methods unknown to us are forwarded
    for (String m : List.of("get", "G ET", "GET\t", "", "PROPFIND", "GE\u0000T", "M".repeat(300), "GET GET")) {
      add("method [" + m.replace("\u0000", "NUL").replace("\t", "TAB") + "]",
          m + " " + url() + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
          sound.contains(m) ? Expect.passes(0) : Expect.refused(400));
    }
    // {o}: the origin, {p}: the case's path. A '%' without its hex digits is passed as it came (as HAProxy does): the origin judges it.
    String[][] uris = {{"{p}", "400"}, {"*", "400"}, {"http://", "400"}, {"http:///{p}", "400"}, {"http://@/{p}", "400"},
        {"http://a b{p}", "400"}, {"http://[::1{p}", "400"}, {"http://{o}{p}?" + "a".repeat(10_000), "414"},
        {"http://{o}{p}%", "200"}, {"http://{o}{p}\u0001", "400"}, {"ftp://{o}{p}", "400"}, {"http://{o}:99999{p}", "400"},
        {"http://user:pw@{o}{p}", "400"}, {"//{o}{p}", "400"}, {"http://{o}{p}#frag", "400"}};
    for (String[] u : uris) {
      String uri = u[0].replace("{o}", origin).replace("{p}", path());
      int status = Integer.parseInt(u[1]);
      add("URI [" + (u[0].length() > 40 ? u[0].substring(0, 40) + "…" : u[0]) + "]",
          "GET " + uri + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n",
          status == 200 ? Expect.passes(0) : Expect.refused(status));
    }
    for (String v : List.of("HTTP/1.0", "HTTP/2.0", "HTTP/1.10", "http/1.1", "HTTP/1.1 x", "HTTP/1", "HTTP/01.1",
        "HTTP/1.1\t", "", "HTTP/9.9")) {
      add("version [" + v + "]", "GET " + url() + (v.isEmpty() ? "" : " " + v) + "\r\nHost: " + origin + "\r\n\r\n",
          switch (v) {
            case "HTTP/1.0" -> Expect.passes(0).closing(); // no keep-alive asked: the proxy closes after it
            case "HTTP/2.0", "HTTP/9.9" -> Expect.refused(505);
            default -> Expect.refused(400);
          });
    }
  }

  /** CONNECT targets: allowed and refused ports, malformed authorities; an answered CONNECT closes. */
  private void connectTargets() {
    family("CONNECT targets", false);
    for (String t : List.of(origin, "127.0.0.1:443", "127.0.0.1", ":443", "[::1]:443", "127.0.0.1:99999",
        "127.0.0.1:-1", "http://127.0.0.1:443", "127.0.0.1:443/path", "a b:443", "127.0.0.1:0")) {
      int status = t.equals(origin) ? 403 : t.equals("127.0.0.1:443") || t.equals("[::1]:443") ? 502 : 400;
      add("CONNECT [" + t + "]", "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n",
          Expect.refused(status).origin(Origin.ANY));
    }
  }

  /** Expect: 100-continue with and without a body, unknown expectations, a request after. */
  private void expect() {
    family("Expect", false);
    add("100-continue with the body at once", head("POST", "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        + "hello", Expect.passes(5));
    // The sentinel's first 5 bytes are the body; its rest is then a bad request line.
    add("100-continue, no body ever", head("POST", "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"),
        Expect.passes(5).statuses(200, 400).closing());
    // Forwarded, as HAProxy does (Squid answers 417; RFC 9110 10.1.1 allows either).
    add("unknown expectation", head("POST", "Expect: teapot\r\nContent-Length: 5\r\n\r\n") + "hello",
        Expect.passes(5));
    add("100-continue twice", head("POST", "Expect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        + "hello", Expect.passes(5));
    add("100-continue on GET with a hidden request", head("GET", "Expect: 100-continue\r\n\r\n") + smuggled()
        .replace("GET", "GE T"), Expect.passes(0).statuses(200, 400).closing());
    add("100-continue, chunked, hidden request after the last chunk", head("POST",
        "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") + "0\r\n\r\n" + smuggled(),
        Expect.refused(400));
  }
}
