package io.portcullis.daemon.reliability;

import java.util.ArrayList;
import java.util.List;

/**
 * Hostile requests to a forward proxy generated from families (framing, chunk sizes, line endings, headers, request
 * lines, CONNECT targets, Expect) and broken upstream answers. Each case asks for {@code /hN} on the origin; a request
 * hidden in it asks for {@code /SMUGGLED-hN}, which must never reach the origin as a request. Where the case's body
 * is known ({@code body} ≥ 0), a request the proxy passes must reach the origin with exactly that many body bytes.
 */
final class HostileHttp {
  /** A case: its family, name, bytes, the body the origin must get if it passes (-1: any), upstream: a broken answer. */
  record Case(String family, String name, String bytes, int body, boolean upstream) {
  }

  private final String origin;
  private final List<Case> cases = new ArrayList<>();
  private String family;

  private HostileHttp(int originPort) {
    this.origin = "127.0.0.1:" + originPort;
  }

  /** Every generated case. */
  static List<Case> all(int originPort) {
    HostileHttp h = new HostileHttp(originPort);
    h.transferEncodings();
    h.contentLengths();
    h.chunkSizes();
    h.lineEndings();
    h.headers();
    h.requestLines();
    h.connectTargets();
    h.expect();
    h.upstream();
    return h.cases;
  }

  private String path() {
    return "/h" + cases.size();
  }

  private String url() {
    return "http://" + origin + path();
  }

  private String smuggled() {
    return "GET http://" + origin + "/SMUGGLED-h" + cases.size() + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n";
  }

  private String head(String method, String extra) {
    return method + " " + url() + " HTTP/1.1\r\nHost: " + origin + "\r\n" + extra;
  }

  private void add(String name, String bytes, int body) {
    cases.add(new Case(family, name, bytes, body, false));
  }

  /** Transfer-Encoding spellings, names and whitespace, alone (a body of 5) or with a Content-Length hiding a request. */
  private void transferEncodings() {
    family = "framing: Transfer-Encoding";
    List<String> names = List.of("Transfer-Encoding", "transfer-encoding", "TRANSFER-ENCODING", "Transfer-Encoding ",
        "Transfer_Encoding", "Transfer-Encoding\t", " Transfer-Encoding");
    List<String> values = List.of("chunked", " chunked", "chunked ", "\tchunked", "Chunked", "CHUNKED",
        "chunked, identity", "identity, chunked", "gzip, chunked", "x-chunked", "chunked;q=1", "chunk", "chunked\u000b",
        "\"chunked\"");
    for (String n : names) {
      for (String v : values) {
        add(n.strip() + (n.equals(n.strip()) ? "" : "(ws)") + ": [" + v + "] alone",
            head("POST", n + ":" + " " + v + "\r\n\r\n") + "5\r\nhello\r\n0\r\n\r\n", -1);
        String hidden = "0\r\n\r\n" + smuggled();
        add(n.strip() + (n.equals(n.strip()) ? "" : "(ws)") + ": [" + v + "] with CL",
            head("POST", "Content-Length: " + hidden.length() + "\r\n" + n + ": " + v + "\r\n\r\n") + hidden, -1);
      }
    }
  }

  /** Content-Length values, alone and duplicated; a body of 5 bytes follows. */
  private void contentLengths() {
    family = "framing: Content-Length";
    List<String> values = List.of("5", "05", "+5", "-5", "0x5", "5 ", " 5", "5,5", "5, 6", "5.0", "1e1", "",
        "99999999999999999999", "5\u000b", "５");
    for (String v : values) {
      add("CL [" + v + "]", head("POST", "Content-Length: " + v + "\r\n\r\n") + "hello", 5);
      add("CL [" + v + "] twice", head("POST", "Content-Length: " + v + "\r\nContent-Length: " + v + "\r\n\r\n")
          + "hello", 5);
      add("CL 5 and [" + v + "]", head("POST", "Content-Length: 5\r\nContent-Length: " + v + "\r\n\r\n") + "hello", 5);
    }
  }

  /** Chunk-size lines: signs, prefixes, overflow, extensions with quotes and bare CR/LF; with CRLF or bare LF. */
  private void chunkSizes() {
    family = "framing: chunk sizes";
    List<String> sizes = List.of("5", "05", "+5", "-5", "0x5", "5 ", " 5", "5;ext", "5;ext=\"q\"", "5;ext=\"unterminated",
        "5;\rx", "5;e=\"a\\\"b\"", "fffffffffffffffff5", "5\u0000", "5 ;x", "g", "", "5;" + "x".repeat(5000));
    for (String eol : List.of("\r\n", "\n")) {
      for (String s : sizes) {
        add("chunk [" + s.replace("\r", "\\r") + "]" + (eol.equals("\n") ? " LF" : ""),
            head("POST", "Transfer-Encoding: chunked\r\n\r\n") + s + eol + "hello" + eol + "0" + eol + eol, 5);
      }
    }
    add("trailer with obs-fold", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n",
        5);
    add("trailer Content-Length", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n", 5);
    add("chunk data longer than its size", head("POST", "Transfer-Encoding: chunked\r\n\r\n")
        + "5\r\nhello-and-more\r\n0\r\n\r\n" + smuggled(), 5);
    add("missing final chunk, a request after", head("POST", "Transfer-Encoding: chunked\r\n\r\n") + "5\r\nhello\r\n"
        + smuggled(), 5);
  }

  /** Bare LF, bare CR, CR CR LF, LF CR and NUL at the request line, a header line and the blank line. */
  private void lineEndings() {
    family = "line endings";
    List<String> endings = List.of("\n", "\r", "\r\r\n", "\n\r", "\u0000\r\n", " \r\n", "\r\n\r\n\r\n");
    for (String e : endings) {
      String shown = e.replace("\r", "CR").replace("\n", "LF").replace("\u0000", "NUL").replace(" ", "SP");
      add("request line ends " + shown, "GET " + url() + " HTTP/1.1" + e + "Host: " + origin + "\r\n\r\n", -1);
      add("header line ends " + shown, head("GET", "X-A: 1" + e + "X-B: 2\r\n\r\n"), -1);
      add("blank line is " + shown, head("POST", "Content-Length: 5\r\n") + e + "hello", -1);
    }
  }

  /** obs-fold, space before the colon, odd names, oversized lines and counts, duplicate Host. */
  private void headers() {
    family = "headers";
    for (String h : List.of("Host", "Content-Length", "Transfer-Encoding", "X-Any", "Connection")) {
      add("obs-fold in " + h, head("GET", h + ": a\r\n b\r\n\r\n"), -1);
      add("space before colon in " + h, head("GET", h + " : 1\r\n\r\n"), -1);
      add("tab before colon in " + h, head("GET", h + "\t: 1\r\n\r\n"), -1);
    }
    for (String n : List.of("", "X Y", "X@Y", "(X)", "X\u0000Y", "X\u007fY", "Ü", ":")) {
      add("header name [" + n.replace("\u0000", "NUL") + "]", head("GET", n + ": v\r\n\r\n"), -1);
    }
    add("value with NUL", head("GET", "X-A: a\u0000b\r\n\r\n"), -1);
    add("value with bare CR", head("GET", "X-A: a\rb\r\n\r\n"), -1);
    add("header line 70 KiB", head("GET", "X-A: " + "a".repeat(70_000) + "\r\n\r\n"), -1);
    add("2000 headers", head("GET", "X-A: 1\r\n".repeat(2000) + "\r\n"), -1);
    add("two different Host", head("GET", "Host: other.test\r\n\r\n"), -1);
    add("no colon", head("GET", "NoColonHere\r\n\r\n"), -1);
    add("Connection: close, hidden request after", head("GET", "Connection: close\r\n\r\n") + smuggled(), -1);
  }

  /** Methods, URIs and versions. */
  private void requestLines() {
    family = "request lines";
    for (String m : List.of("get", "G ET", "GET\t", "", "PROPFIND", "GE\u0000T", "M".repeat(300), "GET GET")) {
      add("method [" + m.replace("\u0000", "NUL").replace("\t", "TAB") + "]",
          m + " " + url() + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n", -1);
    }
    for (String u : List.of(path(), "*", "http://", "http:///x", "http://@/", "http://a b/", "http://[::1/",
        "http://" + origin + "/" + "a".repeat(10_000), "http://" + origin + "/%", "http://" + origin + "/\u0001",
        "ftp://" + origin + "/x", "http://" + origin + ":99999/", "http://user:pw@" + origin + "/x",
        "//" + origin + "/x", "http://" + origin + "#frag")) {
      add("URI [" + (u.length() > 40 ? u.substring(0, 40) + "…" : u) + "]",
          "GET " + u + " HTTP/1.1\r\nHost: " + origin + "\r\n\r\n", -1);
    }
    for (String v : List.of("HTTP/1.0", "HTTP/2.0", "HTTP/1.10", "http/1.1", "HTTP/1.1 x", "HTTP/1", "HTTP/01.1",
        "HTTP/1.1\t", "", "HTTP/9.9")) {
      add("version [" + v + "]", "GET " + url() + (v.isEmpty() ? "" : " " + v) + "\r\nHost: " + origin + "\r\n\r\n", -1);
    }
  }

  /** CONNECT targets: allowed and refused ports, malformed authorities. */
  private void connectTargets() {
    family = "CONNECT targets";
    for (String t : List.of(origin, "127.0.0.1:443", "127.0.0.1", ":443", "[::1]:443", "127.0.0.1:99999",
        "127.0.0.1:-1", "http://127.0.0.1:443", "127.0.0.1:443/path", "a b:443", "127.0.0.1:0")) {
      add("CONNECT [" + t + "]", "CONNECT " + t + " HTTP/1.1\r\nHost: " + t + "\r\n\r\n", -1);
    }
  }

  /** Expect: 100-continue with and without a body, unknown expectations, a request after. */
  private void expect() {
    family = "Expect";
    add("100-continue with the body at once", head("POST", "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        + "hello", 5);
    add("100-continue, no body ever", head("POST", "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n"), -1);
    add("unknown expectation", head("POST", "Expect: teapot\r\nContent-Length: 5\r\n\r\n") + "hello", -1);
    add("100-continue twice", head("POST", "Expect: 100-continue\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        + "hello", -1);
    add("100-continue on GET with a hidden request", head("GET", "Expect: 100-continue\r\n\r\n") + smuggled()
        .replace("GET", "GE T"), -1);
    add("100-continue, chunked, hidden request after the last chunk", head("POST",
        "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") + "0\r\n\r\n" + smuggled(), -1);
  }

  /** Broken answers from the origin (the origin's name for each is the case's path after /bad/). */
  private void upstream() {
    family = "upstream answers";
    for (String[] a : BAD_ANSWERS) {
      cases.add(new Case(family, a[0], "GET http://" + origin + "/bad/" + a[0].replace(' ', '-') + " HTTP/1.1\r\nHost: "
          + origin + "\r\n\r\n", -1, true));
    }
  }

  /** Name and raw bytes of each broken answer. */
  static final String[][] BAD_ANSWERS = {
      {"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"two different CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"},
      {"negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello"},
      {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this"},
      {"truncated chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nonly-this"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"},
      {"1xx flood", "HTTP/1.1 100 Continue\r\n\r\n".repeat(1000) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
      {"huge header", "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(200_000) + "\r\nContent-Length: 2\r\n\r\nok"},
      {"10000 headers", "HTTP/1.1 200 OK\r\n" + "X-A: 1\r\n".repeat(10_000) + "Content-Length: 2\r\n\r\nok"},
      {"bad status line", "HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\nok"},
      {"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n"},
      {"nothing", ""},
      {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"},
      {"NUL in header", "HTTP/1.1 200 OK\r\nX-A: a\u0000b\r\nContent-Length: 2\r\n\r\nok"},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"},
      {"HTTP/0.9 style", "ok\r\n"},
      {"status 999", "HTTP/1.1 999 Odd\r\nContent-Length: 2\r\n\r\nok"},
      {"a second answer hidden", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"},
  };
}
