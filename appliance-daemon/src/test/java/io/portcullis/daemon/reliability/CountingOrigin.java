package io.portcullis.daemon.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An origin on 127.0.0.1 that records every request line it is sent (and the body it got, by Content-Length or
 * chunked), answers 200 with a small body, and keeps connections alive: what reaches it is what the proxy forwarded.
 * A path {@code /bad/NAME} answers the canned bytes registered for NAME instead (broken upstream responses).
 * Deliberately simple and strict: it is the witness, not the subject.
 */
final class CountingOrigin implements AutoCloseable {
  /** One request as the origin saw it. */
  record Seen(String line, int bodyBytes) {
  }

  private final ServerSocket server;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final Map<String, byte[]> canned = new ConcurrentHashMap<>();
  private final Thread acceptor;

  CountingOrigin() throws IOException {
    server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::accept, "counting-origin");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Registers the raw answer of {@code /bad/NAME}. */
  void bad(String name, String bytes) {
    canned.put(name, bytes.getBytes(StandardCharsets.ISO_8859_1));
  }

  List<Seen> seen() {
    return Collections.unmodifiableList(seen);
  }

  /** How many request lines contained {@code part}. */
  long count(String part) {
    return seen.stream().filter(s -> s.line().contains(part)).count();
  }

  private void accept() {
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
      while (true) {
        String line = line(in);
        if (line == null) {
          return;
        }
        if (line.isEmpty()) {
          continue;
        }
        long length = 0;
        boolean chunked = false;
        for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
          String lower = h.toLowerCase(java.util.Locale.ROOT);
          if (lower.startsWith("content-length:")) {
            length = Long.parseLong(h.substring(15).strip());
          } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
            chunked = true;
          }
        }
        int body = 0;
        if (chunked) {
          for (long size = Long.parseLong(line(in).split(";")[0].strip(), 16); size > 0;
              size = Long.parseLong(line(in).split(";")[0].strip(), 16)) {
            body += (int) in.readNBytes((int) size).length;
            line(in);
          }
          for (String t = line(in); t != null && !t.isEmpty(); t = line(in)) {
            // trailers
          }
        } else {
          body = in.readNBytes((int) length).length;
        }
        seen.add(new Seen(line, body));
        String path = line.split(" ").length > 1 ? line.split(" ")[1] : "";
        int bad = path.indexOf("/bad/");
        if (bad >= 0) {
          byte[] answer = canned.get(path.substring(bad + 5));
          if (answer != null) {
            out.write(answer);
            out.flush();
            return; // a broken answer ends the connection
          }
        }
        out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
    } catch (IOException | RuntimeException e) {
      // the proxy closed, or sent what this strict witness does not take: the connection ends
    }
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c >= 0; c = in.read()) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
      if (b.size() > 1 << 20) {
        throw new IOException("line too long");
      }
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
