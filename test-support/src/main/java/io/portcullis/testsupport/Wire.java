package io.portcullis.testsupport;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Raw exchanges on a socket, for what an HTTP or ICAP client library would hide or refuse to send. */
public final class Wire {
  private static final Pattern CONTENT_LENGTH = Pattern.compile("(?i)\r\ncontent-length: *(\\d+)\r\n");

  private Wire() {
  }

  /**
   * A connection from the loopback address {@code from} (127.0.0.2 and so on: another client to the server) to
   * 127.0.0.1:{@code port}; 5 s to connect, reads time out after 20 s.
   */
  public static Socket connect(String from, int port) throws IOException {
    Socket s = new Socket();
    try {
      s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5000);
      s.setSoTimeout(20_000);
      return s;
    } catch (IOException e) {
      s.close();
      throw e;
    }
  }

  /**
   * All the peer sends until it closes (Latin-1: a byte a char). A reset ends it too: what came before it is the
   * answer. A read timeout is thrown.
   */
  public static String readToClose(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) > 0; ) {
        out.write(buf, 0, n);
      }
    } catch (SocketException e) {
      // a reset after the close: what was read is the answer
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /**
   * One keep-alive {@code GET target} with {@code Host: host} on {@code s}; returns the response head (status line
   * and headers, up to the blank line) once its body (by Content-Length; none without one) is read off too, so the
   * next request can follow on the same connection. A close before the head's end is thrown.
   */
  public static String keepAliveGet(Socket s, String target, String host) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.flush();
    InputStream in = s.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new IOException("connection closed after: " + head);
      }
      head.append((char) c);
    }
    Matcher m = CONTENT_LENGTH.matcher(head);
    in.readNBytes(m.find() ? Integer.parseInt(m.group(1)) : 0);
    return head.toString();
  }

  /** Every status in {@code text}, in order: group 1 of each match of {@code statusLine} (HTTP's, ICAP's). */
  public static List<Integer> statuses(Pattern statusLine, String text) {
    List<Integer> out = new ArrayList<>();
    Matcher m = statusLine.matcher(text);
    while (m.find()) {
      out.add(Integer.parseInt(m.group(1)));
    }
    return out;
  }
  /**
   * Waits until the server on loopback has read every byte sent on {@code s}: our send queue and its receive queue
   * are empty (the kernel's count, {@code /proc/net/tcp}). The witness that a partial request is in the server's hands
   * before the test acts (a close, a signal), where a sleep would only hope so.
   */
  public static void awaitReadByPeer(Socket s) throws InterruptedException {
    int local = s.getLocalPort();
    int remote = s.getPort();
    Host.waitUntil("the server on port " + remote + " to read all that port " + local + " sent",
        () -> queue(local, remote, true) == 0 && queue(remote, local, false) == 0);
  }

  /**
   * The send ({@code send}) or receive queue, in bytes, of the TCP socket from local port {@code from} to peer port
   * {@code to}, per /proc/net/tcp and tcp6; an exception if there is no such socket.
   */
  private static long queue(int from, int to, boolean send) throws IOException {
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of(table));
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.trim().split("\\s+");
        if (port(f[1]) == from && port(f[2]) == to) {
          String[] q = f[4].split(":"); // tx_queue:rx_queue, hex
          return Long.parseLong(send ? q[0] : q[1], 16);
        }
      }
    }
    throw new IOException("no socket from port " + from + " to port " + to);
  }

  private static int port(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1), 16);
  }
}
