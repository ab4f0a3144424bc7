package io.portcullis.daemon.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An origin on 127.0.0.1 that records every request it is sent (request line, header lines, body bytes, whether it
 * came whole), answers 200 with a small body, and keeps connections alive: what reaches it is what the proxy
 * forwarded. A path {@code /bad/NAME/...} answers the canned bytes registered for NAME instead (broken upstream
 * responses). It parses strictly and refuses, with a 400 and a close, what a lenient server would have to guess at
 * (bare LF, obs-fold, two lengths, a coding other than chunked, both framings, bad chunks): such a request is
 * recorded with why, so a proxy that forwards ambiguous framing is caught here, not trusted to a guess.
 */
final class CountingOrigin implements AutoCloseable {
  /**
   * One request as the origin saw it: {@code complete} once its body was read whole; {@code refused}: why the origin
   * would not take its framing (null if it did).
   */
  record Seen(String line, List<String> headers, int bodyBytes, boolean complete, String refused) {
    /** The values of header {@code name}, in any case, in order. */
    List<String> header(String name) {
      List<String> values = new ArrayList<>();
      for (String h : headers) {
        int colon = h.indexOf(':');
        if (h.substring(0, colon).equalsIgnoreCase(name)) {
          values.add(h.substring(colon + 1).strip());
        }
      }
      return values;
    }
  }

  /** A canned answer; {@code keep}: the connection goes on after it (what the proxy makes of stray bytes shows). */
  private record Canned(byte[] bytes, boolean keep) {
  }

  private final List<ServerSocket> servers = new CopyOnWriteArrayList<>();
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final Map<String, Canned> canned = new ConcurrentHashMap<>();
  private final int port;
  private int busy; // connections inside a request: begun, not yet recorded

  CountingOrigin() throws IOException {
    port = newPort();
  }

  int port() {
    return port;
  }

  /**
   * Another port of this origin, recorded alike: another origin to the proxy, with its own pooled connections (those
   * a case leaves with stray bytes in them are then that case's alone).
   */
  int newPort() throws IOException {
    ServerSocket server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
    servers.add(server);
    Thread acceptor = new Thread(() -> accept(server), "counting-origin");
    acceptor.setDaemon(true);
    acceptor.start();
    return server.getLocalPort();
  }

  /** Registers the raw answer of {@code /bad/NAME}; the connection closes after it. */
  void bad(String name, String bytes) {
    canned(name, bytes, false);
  }

  /** Registers the raw answer of {@code /bad/NAME}; {@code keep}: the connection is kept after it. */
  void canned(String name, String bytes, boolean keep) {
    canned.put(name, new Canned(bytes.getBytes(StandardCharsets.ISO_8859_1), keep));
  }

  List<Seen> seen() {
    return Collections.unmodifiableList(seen);
  }

  /** How many requests (whole or not) had a request line containing {@code part}. */
  long count(String part) {
    return seen.stream().filter(s -> s.line().contains(part)).count();
  }

  /**
   * Waits until no connection is inside a request (each one begun is recorded), at most {@code millis}: what the
   * proxy sent is then all on record. False if one is still open mid-request by then.
   */
  synchronized boolean awaitIdle(long millis) throws InterruptedException {
    long end = System.currentTimeMillis() + millis;
    for (long left = millis; busy > 0 && left > 0; left = end - System.currentTimeMillis()) {
      wait(left);
    }
    return busy == 0;
  }

  private synchronized void busy(int delta) {
    busy += delta;
    notifyAll();
  }

  private void accept(ServerSocket server) {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        Thread t = new Thread(() -> serve(s), "counting-origin-conn");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      s.setSoTimeout(30_000);
      InputStream in = new java.io.BufferedInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      for (int first = in.read(); first >= 0; first = in.read()) {
        busy(1);
        try {
          if (!request(first, in, out)) {
            return;
          }
        } finally {
          busy(-1);
        }
      }
    } catch (IOException | RuntimeException e) {
      // the proxy closed or reset: a request cut short was recorded as such
    }
  }

  /** Reads, records and answers one request whose first byte is {@code first}; false if the connection ends. */
  private boolean request(int first, InputStream in, OutputStream out) throws IOException {
    Request r = new Request();
    try {
      r.line = (char) first + line(in);
      String why = requestLine(r.line);
      for (String h = line(in); why == null && !h.isEmpty(); h = line(in)) {
        r.headers.add(h);
        why = field(r, h);
      }
      why = why != null ? why : framing(r);
      if (why != null) {
        return refuse(r, why, out);
      }
      why = r.chunked ? chunks(r, in) : body(r, in, r.length);
      if (why != null) {
        return refuse(r, why, out);
      }
    } catch (IllegalArgumentException e) {
      return refuse(r, e.getMessage(), out);
    } catch (IOException e) {
      seen.add(new Seen(r.line == null ? "" : r.line, List.copyOf(r.headers), r.body, false, null)); // cut short
      throw e;
    }
    seen.add(new Seen(r.line, List.copyOf(r.headers), r.body, true, null));
    String[] parts = r.line.split(" ");
    int bad = parts[1].indexOf("/bad/");
    if (bad >= 0) {
      String name = parts[1].substring(bad + 5);
      Canned answer = canned.get(name.indexOf('/') < 0 ? name : name.substring(0, name.indexOf('/')));
      if (answer != null) {
        out.write(answer.bytes());
        out.flush();
        return answer.keep();
      }
    }
    boolean close = r.headers.stream().anyMatch(x -> x.equalsIgnoreCase("Connection: close"));
    out.write(("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n"
        + (close ? "Connection: close\r\n" : "") + "\r\nok").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return !close;
  }

  /** A request being read: what its head said about its framing. */
  private static final class Request {
    String line;
    final List<String> headers = new ArrayList<>();
    int contentLengths;
    long length;
    int codings;
    boolean chunked;
    int hosts;
    int body;
  }

  private boolean refuse(Request r, String why, OutputStream out) throws IOException {
    seen.add(new Seen(r.line == null ? "" : r.line, List.copyOf(r.headers), r.body, false, why));
    out.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        .getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return false;
  }

  private static String requestLine(String line) {
    return line.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+ [\\x21-\\x7e]+ HTTP/1\\.[01]") ? null
        : "not a request line";
  }

  /** Takes what a header line says about framing; null, or why it is refused. */
  private static String field(Request r, String h) {
    int colon = h.indexOf(':');
    if (colon <= 0 || !h.substring(0, colon).matches("[!#$%&'*+.^_`|~0-9A-Za-z-]+")) {
      return "not a header line (obs-fold, whitespace before the colon, a bad name): " + h;
    }
    String value = h.substring(colon + 1).strip();
    if (value.chars().anyMatch(c -> (c < 0x20 && c != '\t') || c == 0x7f)) {
      return "a control character in " + h;
    }
    switch (h.substring(0, colon).toLowerCase(Locale.ROOT)) {
      case "content-length" -> {
        if (!value.matches("[0-9]{1,18}")) {
          return "Content-Length is not a length: " + value;
        }
        r.contentLengths++;
        r.length = Long.parseLong(value);
      }
      case "transfer-encoding" -> {
        r.codings++;
        r.chunked = value.equalsIgnoreCase("chunked");
        if (!r.chunked) {
          return "a coding other than chunked alone: " + value;
        }
      }
      case "host" -> r.hosts++;
      default -> {
      }
    }
    return null;
  }

  /** The head's framing as a whole: one length or one chunked coding, never both; one Host. */
  private static String framing(Request r) {
    if (r.contentLengths > 1 || r.codings > 1) {
      return "more than one Content-Length or Transfer-Encoding";
    } else if (r.contentLengths > 0 && r.codings > 0) {
      return "both Content-Length and Transfer-Encoding";
    } else if (r.hosts != 1) {
      return r.hosts + " Host headers";
    }
    return null;
  }

  private static String body(Request r, InputStream in, long length) throws IOException {
    byte[] buf = new byte[8192];
    for (long left = length; left > 0; ) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (n < 0) {
        throw new IOException("the body was cut short");
      }
      r.body += n;
      left -= n;
    }
    return null;
  }

  private static String chunks(Request r, InputStream in) throws IOException {
    while (true) {
      String size = line(in);
      int semi = size.indexOf(';');
      String digits = semi < 0 ? size : size.substring(0, semi);
      if (!digits.matches("[0-9a-fA-F]{1,15}")) {
        return "not a chunk size: " + size;
      }
      long n = Long.parseLong(digits, 16);
      if (n == 0) {
        break;
      }
      body(r, in, n);
      if (!line(in).isEmpty()) {
        return "chunk data not followed by CRLF";
      }
    }
    for (String t = line(in); !t.isEmpty(); t = line(in)) {
      if (t.indexOf(':') <= 0 || Character.isWhitespace(t.charAt(0))) {
        return "not a trailer line: " + t;
      }
    }
    return null;
  }

  /** A line ending in CRLF, without it; a bare LF or CR is refused; the connection's end mid-line is thrown. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\r') {
        if (in.read() != '\n') {
          throw new IllegalArgumentException("a bare CR");
        }
        return b.toString(StandardCharsets.ISO_8859_1);
      } else if (c == '\n') {
        throw new IllegalArgumentException("a bare LF");
      }
      b.write(c);
      if (b.size() > 1 << 20) {
        throw new IOException("line too long");
      }
    }
    throw new IOException("the connection ended mid-line");
  }

  @Override
  public void close() throws IOException {
    for (ServerSocket server : servers) {
      server.close();
    }
  }
}
