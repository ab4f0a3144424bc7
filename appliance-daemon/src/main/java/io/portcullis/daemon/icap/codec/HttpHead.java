package io.portcullis.daemon.icap.codec;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * An encapsulated HTTP header block: the start line (request line or status line) and the header fields.
 * The request/response accessors read the start line; they never fail on a head the decoder accepted.
 */
public record HttpHead(String startLine, Headers headers) {

  public static HttpHead request(String method, String target, Headers headers) {
    return new HttpHead(method + " " + target + " HTTP/1.1", headers);
  }

  public static HttpHead response(int status, String reason, Headers headers) {
    return new HttpHead("HTTP/1.1 " + status + " " + reason, headers);
  }

  /** The request method (request heads). */
  public String method() {
    return startLine.substring(0, startLine.indexOf(' '));
  }

  /** The request target as sent (request heads): absolute URI, origin form or authority form. */
  public String target() {
    int a = startLine.indexOf(' ');
    return startLine.substring(a + 1, startLine.lastIndexOf(' '));
  }

  /** The status code (response heads). */
  public int status() {
    int a = startLine.indexOf(' ');
    return Integer.parseInt(startLine.substring(a + 1, a + 4));
  }

  /** The host the request is for: the absolute URI's authority wins over Host (RFC 9112 3.2.2); lower case, no port. */
  public String host() {
    String t = target();
    String authority = null;
    if (method().equals("CONNECT")) {
      authority = t;
    } else if (t.regionMatches(true, 0, "http://", 0, 7) || t.regionMatches(true, 0, "https://", 0, 8)) {
      try {
        authority = URI.create(t).getRawAuthority();
      } catch (IllegalArgumentException e) {
        authority = null;
      }
    }
    if (authority == null) {
      authority = headers.get("Host");
    }
    if (authority == null) {
      return "";
    }
    int at = authority.lastIndexOf('@');
    String hp = at >= 0 ? authority.substring(at + 1) : authority;
    if (hp.startsWith("[")) {
      int close = hp.indexOf(']');
      return (close > 0 ? hp.substring(1, close) : hp).toLowerCase(Locale.ROOT);
    }
    int colon = hp.indexOf(':');
    return (colon >= 0 ? hp.substring(0, colon) : hp).toLowerCase(Locale.ROOT);
  }

  /** The request's full URL: the absolute target, or {@code http://Host} + the origin-form target. */
  public String url() {
    String t = target();
    if (t.startsWith("/") ) {
      String host = headers.get("Host");
      return "http://" + (host == null ? "" : host) + t;
    }
    if (method().equals("CONNECT")) {
      return "https://" + t + "/";
    }
    return t;
  }

  /** The head as bytes: start line, fields, empty line. */
  public byte[] encode() {
    StringBuilder sb = new StringBuilder(startLine.length() + 32 * headers.size() + 4);
    sb.append(startLine).append("\r\n");
    headers.appendTo(sb);
    sb.append("\r\n");
    return sb.toString().getBytes(StandardCharsets.ISO_8859_1);
  }
}
