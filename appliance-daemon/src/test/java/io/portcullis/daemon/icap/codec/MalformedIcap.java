package io.portcullis.daemon.icap.codec;

import java.util.LinkedHashMap;
import java.util.Map;

/** Malformed ICAP requests, by family; each must be refused (ICAP 400 and close on the server). Shared with server tests. */
public final class MalformedIcap {
  private MalformedIcap() {
  }

  static final String REQ = "GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n"; // 45 bytes
  static final String RES = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n"; // 38 bytes

  static String reqmod(String encapsulated, String rest) {
    return "REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\nEncapsulated: " + encapsulated
        + "\r\n\r\n" + rest;
  }

  /** A RESPMOD with Allow: 204, so that a server waits for the whole message before it answers. */
  static String respmod(String extraHeaders, String body) {
    return "RESPMOD icap://127.0.0.1/av/respmod ICAP/1.0\r\nHost: 127.0.0.1\r\nAllow: 204\r\n" + extraHeaders
        + "Encapsulated: req-hdr=0, res-hdr=45, res-body=83\r\n\r\n" + REQ + RES + body;
  }

  /** A REQMOD whose Encapsulated matches the given (malformed) HTTP head exactly, so only the head is wrong. */
  static String reqmodHead(String head) {
    return reqmod("req-hdr=0, null-body=" + head.length(), head);
  }

  /** Name → bytes (ISO-8859-1). */
  public static Map<String, String> cases() {
    Map<String, String> m = new LinkedHashMap<>();
    // Encapsulated offsets
    m.put("URI port out of range", "REQMOD icap://127.0.0.1:99999/av/reqmod ICAP/1.0\r\nHost: h\r\n"
        + "Encapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("encapsulated missing", "REQMOD icap://h/av/reqmod ICAP/1.0\r\nHost: h\r\n\r\n" + REQ);
    m.put("encapsulated negative offset", reqmod("req-hdr=0, null-body=-45", REQ));
    m.put("encapsulated first offset not 0", reqmod("req-hdr=5, null-body=45", REQ));
    m.put("encapsulated decreasing", respmod("", "").replace("res-hdr=45, res-body=83", "res-hdr=83, res-body=45"));
    m.put("encapsulated equal offsets", reqmod("req-hdr=0, req-body=0", "0\r\n\r\n"));
    m.put("encapsulated body not last", reqmod("null-body=0, req-hdr=0", REQ));
    m.put("encapsulated two bodies", reqmod("req-hdr=0, req-body=45, null-body=46", REQ + "0\r\n\r\n"));
    m.put("encapsulated no body entry", reqmod("req-hdr=0", REQ));
    m.put("encapsulated unknown section", reqmod("req-hdr=0, foo-body=45", REQ));
    m.put("encapsulated offset not a number", reqmod("req-hdr=0, null-body=4x5", REQ));
    m.put("encapsulated offset overflow", reqmod("req-hdr=0, null-body=99999999999999999999", REQ));
    m.put("encapsulated offset beyond limit", reqmod("req-hdr=0, null-body=999999999", REQ));
    m.put("encapsulated offset too short for the head", reqmod("req-hdr=0, null-body=30", REQ));
    m.put("encapsulated offset past the head end", reqmod("req-hdr=0, null-body=47", REQ + "0\r\n"));
    m.put("encapsulated twice", "REQMOD icap://h/av/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=45\r\n"
        + "Encapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("encapsulated not name=offset", reqmod("req-hdr 0, null-body=45", REQ));
    m.put("encapsulated res-hdr in reqmod", reqmod("res-hdr=0, null-body=38", RES));
    m.put("encapsulated respmod without res-hdr", respmod("", "").replace("req-hdr=0, res-hdr=45, res-body=83",
        "req-hdr=0, res-body=45"));
    m.put("encapsulated req-hdr after res-hdr", respmod("", "").replace("req-hdr=0, res-hdr=45, res-body=83",
        "res-hdr=0, req-hdr=38, res-body=83"));
    // Encapsulated HTTP heads
    m.put("http request line broken", reqmodHead("GET /only-two-parts\r\nHost: a\r\n\r\n"));
    m.put("http header obs-fold", reqmodHead("GET http://a/ HTTP/1.1\r\nHost: a\r\n x: folded\r\n\r\n"));
    m.put("http header space before colon", reqmodHead("GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n"));
    m.put("http header NUL", reqmodHead("GET http://a/ HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n"));
    m.put("http status line broken", respmod("", "3\r\nabc\r\n0\r\n\r\n").replace(RES,
        "HTTP/1.1 2000 OK\r\nContent-Length: 3\r\n\r\n").replace("res-body=83", "res-body=84"));
    // Chunked body
    m.put("chunk size not hex", respmod("", "zz\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size with sign", respmod("", "+3\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size negative", respmod("", "-3\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size overflow", respmod("", "ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size over limit", respmod("", "7fffffff\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size empty", respmod("", "\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk data not followed by CRLF", respmod("", "3\r\nabcd\r\n0\r\n\r\n"));
    m.put("chunk size line bare LF", respmod("", "3\nabc\r\n0\r\n\r\n"));
    m.put("chunk extension bare CR", respmod("", "3;a=b\rc\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk extension unterminated quote", respmod("", "3;a=\"open\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk extension without name", respmod("", "3;=x\r\nabc\r\n0\r\n\r\n"));
    m.put("chunk size line too long", respmod("", "3;" + "x".repeat(5000) + "\r\nabc\r\n0\r\n\r\n"));
    m.put("trailer bare LF", respmod("", "3\r\nabc\r\n0\r\nX: y\n\r\n"));
    m.put("trailer without colon", respmod("", "3\r\nabc\r\n0\r\nnocolon\r\n\r\n"));
    // Preview and ieof
    m.put("ieof on a data chunk", respmod("Preview: 10\r\n", "3; ieof\r\nabc\r\n0\r\n\r\n"));
    m.put("ieof without preview", respmod("", "3\r\nabc\r\n0; ieof\r\n\r\n"));
    m.put("preview longer than announced", respmod("Preview: 2\r\n", "3\r\nabc\r\n0; ieof\r\n\r\n"));
    m.put("preview not a number", respmod("Preview: lots\r\n", "3\r\nabc\r\n0; ieof\r\n\r\n"));
    m.put("preview negative", respmod("Preview: -1\r\n", "3\r\nabc\r\n0; ieof\r\n\r\n"));
    m.put("preview twice", respmod("Preview: 3\r\nPreview: 3\r\n", "3\r\nabc\r\n0; ieof\r\n\r\n"));
    // ICAP line and headers
    m.put("unknown method", "GET icap://h/av/reqmod ICAP/1.0\r\nEncapsulated: null-body=0\r\n\r\n");
    m.put("lower-case method", "reqmod icap://h/av/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("bad version", "REQMOD icap://h/av/reqmod ICAP/2.0\r\nEncapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("HTTP version instead of ICAP", "REQMOD icap://h/av/reqmod HTTP/1.1\r\nEncapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("missing version", "OPTIONS icap://h/av/reqmod\r\n\r\n");
    m.put("extra space in request line", "OPTIONS  icap://h/av/reqmod ICAP/1.0\r\n\r\n");
    m.put("uri not icap", "OPTIONS http://h/av/reqmod ICAP/1.0\r\n\r\n");
    m.put("uri origin form", "OPTIONS /av/reqmod ICAP/1.0\r\n\r\n");
    m.put("uri malformed", "OPTIONS icap://h/a v ICAP/1.0\r\n\r\n");
    m.put("bare LF line endings", "OPTIONS icap://h/av/reqmod ICAP/1.0\nHost: h\n\n");
    m.put("bare LF before start line", "\nOPTIONS icap://h/av/reqmod ICAP/1.0\r\n\r\n");
    m.put("bare CR inside a header", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nHost: a\rb\r\n\r\n");
    m.put("icap header obs-fold", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nHost: h\r\n folded\r\n\r\n");
    m.put("icap header without name", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\n: value\r\n\r\n");
    m.put("icap header name not a token", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nBad Name: v\r\n\r\n");
    m.put("icap header control character", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nX: a\u0001b\r\n\r\n");
    m.put("icap header too large", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nX: " + "a".repeat(20000) + "\r\n\r\n");
    StringBuilder many = new StringBuilder("OPTIONS icap://h/av/reqmod ICAP/1.0\r\n");
    for (int i = 0; i < 150; i++) {
      many.append("X-").append(i).append(": v\r\n");
    }
    m.put("too many icap headers", many.append("\r\n").toString());
    m.put("options with req-hdr", "OPTIONS icap://h/av/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body=45\r\n\r\n" + REQ);
    m.put("binary garbage", "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u01fc\u0003\u0003\r\n\r\n");
    return m;
  }
}
