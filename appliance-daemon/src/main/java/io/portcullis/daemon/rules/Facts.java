package io.portcullis.daemon.rules;

import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What the rules may look at in one transaction: the request (method, URL and its parts, client, user, groups,
 * request type), then, once known, the response (type, true file type, file name, body size). Made per transaction;
 * not thread-safe. Categories are looked up once, when a rule first asks.
 */
public final class Facts {
  final String method;
  final String url;
  final String scheme;
  final String host;
  final int port;
  final String path;
  final String clientIp;
  final String user;
  final List<String> groups;
  final String requestMime;
  final Instant time;
  byte[] clientAddress;
  boolean clientParsed;
  boolean response;
  String responseMime;
  String fileType;
  String fileName;
  long bodySize = -1;
  long categories = -1;

  public Facts(String method, String url, String clientIp, String user, List<String> groups, String requestMime,
      Instant time) {
    this.method = method;
    this.clientIp = clientIp;
    this.user = user == null ? null : user.toLowerCase(Locale.ROOT);
    List<String> g = List.of();
    if (groups != null && !groups.isEmpty()) {
      g = new ArrayList<>(groups.size());
      for (String x : groups) {
        g.add(x.toLowerCase(Locale.ROOT));
      }
    }
    this.groups = g;
    this.requestMime = requestMime;
    this.time = time;
    String s = "http";
    String h = "";
    int p = 80;
    String pa = "/";
    boolean normalized = false;
    if (method.equals("CONNECT")) {
      s = "https";
      int colon = url.lastIndexOf(':');
      h = colon > 0 ? url.substring(0, colon) : url;
      p = colon > 0 ? parsePort(url.substring(colon + 1), 443) : 443;
    } else {
      // By hand, not java.net.URI: a URL a client sends may hold characters URI refuses, and must still be judged.
      int sep = url.indexOf("://");
      String rest = url;
      if (sep > 0) {
        s = url.substring(0, sep).toLowerCase(Locale.ROOT);
        rest = url.substring(sep + 3);
      }
      int end = rest.length();
      for (int i = 0; i < rest.length(); i++) {
        char ch = rest.charAt(i);
        if (ch == '/' || ch == '?' || ch == '#') {
          end = i;
          break;
        }
      }
      String authority = rest.substring(0, end);
      pa = end < rest.length() ? rest.substring(end) : "/";
      if (pa.startsWith("?")) {
        pa = "/" + pa;
      }
      int at = authority.lastIndexOf('@');
      if (at >= 0) {
        authority = authority.substring(at + 1);
        normalized = true;
      }
      int colon = authority.lastIndexOf(':');
      if (colon > authority.lastIndexOf(']')) {
        h = authority.substring(0, colon);
        p = parsePort(authority.substring(colon + 1), s.equals("https") ? 443 : 80);
      } else {
        h = authority;
        p = s.equals("https") ? 443 : 80;
      }
    }
    boolean v6 = h.startsWith("[") && h.endsWith("]");
    if (v6) {
      h = h.substring(1, h.length() - 1);
    }
    // "blocked.test." names the same host as "blocked.test": without this a trailing dot walks past host rules.
    int hl = h.length();
    while (hl > 0 && h.charAt(hl - 1) == '.') {
      hl--;
    }
    if (hl < h.length()) {
      h = h.substring(0, hl);
      normalized = true;
    }
    this.scheme = s;
    this.host = h.toLowerCase(Locale.ROOT);
    this.port = p;
    this.path = pa;
    // URL rules see the URL with the authority the rules judge (no user info, no trailing dot), so they cannot be
    // walked past either.
    if (normalized && !method.equals("CONNECT")) {
      boolean defaultPort = p == (s.equals("https") ? 443 : 80);
      url = s + "://" + (v6 ? "[" + host + "]" : host) + (defaultPort ? "" : ":" + p) + pa;
    }
    this.url = url;
  }

  /** The facts of an HTTP request head (URL from the absolute target, else Host + path). */
  public static Facts ofRequest(HttpHead request, String clientIp, String user, List<String> groups, Instant time) {
    return new Facts(request.method(), request.url(), clientIp, user, groups,
        mime(request.headers().get("Content-Type")), time);
  }

  /** Adds what the response tells: type, true file type from {@code head[0..n)}, file name and body size. */
  public Facts withResponse(HttpHead response, byte[] head, int n, long size) {
    this.response = true;
    this.responseMime = response == null ? null : mime(response.headers().get("Content-Type"));
    this.fileType = head == null ? null : FileTypes.detect(head, n);
    this.fileName = fileName(response == null ? Headers.EMPTY : response.headers(), path);
    this.bodySize = size >= 0 ? size : declaredLength(response);
    return this;
  }

  /** The Content-Length {@code head} declares, or -1. */
  private static long declaredLength(HttpHead head) {
    String cl = head == null ? null : head.headers().get("Content-Length");
    try {
      return cl == null ? -1 : Long.parseLong(cl.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Adds what an uploaded body (REQMOD) tells: its true file type from {@code head[0..n)}, file name (from the URL
   * path) and size; the response type stays unknown.
   */
  public Facts withRequestBody(HttpHead request, byte[] head, int n, long size) {
    // The body is known now: rules on true file types, file names and sizes apply to the upload; a response type
    // condition still never matches (it has none).
    this.response = true;
    this.fileType = head == null ? null : FileTypes.detect(head, n);
    this.fileName = fileName(request == null ? Headers.EMPTY : request.headers(), path);
    this.bodySize = size >= 0 ? size : declaredLength(request);
    return this;
  }

  /** A copy of the request facts with nothing looked up yet (benchmarks use it to measure whole decisions). */
  public Facts fresh() {
    return new Facts(method, url, clientIp, user, groups, requestMime, time);
  }

  public String url() {
    return url;
  }

  public String host() {
    return host;
  }

  public String method() {
    return method;
  }

  public String clientIp() {
    return clientIp;
  }

  public String user() {
    return user;
  }

  public String responseMime() {
    return responseMime;
  }

  public String fileType() {
    return fileType;
  }

  public long bodySize() {
    return bodySize;
  }

  public boolean hasResponse() {
    return response;
  }

  byte[] clientAddress() {
    if (!clientParsed) {
      clientAddress = CidrMatcher.literal(clientIp);
      clientParsed = true;
    }
    return clientAddress;
  }

  long categories(CategoryDb db) {
    if (categories < 0) {
      categories = db.lookup(host, path);
    }
    return categories;
  }

  static String mime(String contentType) {
    if (contentType == null) {
      return null;
    }
    int semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
  }

  private static int parsePort(String s, int fallback) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }

  /** The file name: Content-Disposition's filename* or filename, else the URL path's last segment (decoded). */
  static String fileName(Headers headers, String path) {
    String cd = headers.get("Content-Disposition");
    if (cd != null) {
      String star = param(cd, "filename*");
      if (star != null) {
        int q = star.indexOf("''");
        String v = q >= 0 ? star.substring(q + 2) : star;
        try {
          return URLDecoder.decode(v.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          return v;
        }
      }
      String plain = param(cd, "filename");
      if (plain != null) {
        return plain;
      }
    }
    String p = path;
    int q = p.indexOf('?');
    if (q >= 0) {
      p = p.substring(0, q);
    }
    String last = p.substring(p.lastIndexOf('/') + 1);
    if (last.isEmpty()) {
      return null;
    }
    try {
      return URLDecoder.decode(last.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return last;
    }
  }

  private static String param(String header, String name) {
    for (String part : header.split(";")) {
      String p = part.strip();
      int eq = p.indexOf('=');
      if (eq > 0 && p.substring(0, eq).strip().equalsIgnoreCase(name)) {
        String v = p.substring(eq + 1).strip();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
          v = v.substring(1, v.length() - 1);
        }
        return v;
      }
    }
    return null;
  }
}
