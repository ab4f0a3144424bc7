package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The proxy's connection limits and memory, with the daemon in its own JVM on a 128 MiB heap and nginx as the origin:
 * one address gets at most proxy.maxConnectionsPerClient connections (the next: 503 and close) while another is
 * served; 1000 idle connections are held from ten addresses while a 1 GiB answer streams through the proxy and its
 * own ICAP server (RESPMOD preview); past proxy.maxConnections a connection gets 503, and once the idle ones go the
 * proxy serves again.
 */
@Tag("reliability")
class ProxyLimitsTest {
  @TempDir
  static Path dir;

  @Test
  void connectionCapsHoldAndAGibibyteStreamsPastAThousandIdleConnectionsOnASmallHeap() throws Exception {
    Path www = dir.resolve("www");
    Files.createDirectories(www);
    Files.writeString(www.resolve("small.txt"), "small");
    try (RandomAccessFile f = new RandomAccessFile(www.resolve("1g.bin").toFile(), "rw")) {
      f.setLength(1L << 30); // sparse: nginx reads zeros, the disk holds nothing
    }
    int originPort = Host.freePort();
    Process nginx = Peers.nginx(dir.resolve("nginx"), www, originPort);
    int proxy = Host.freePort();
    int admin = Host.freePort();
    Process daemon = Peers.portcullis(dir.resolve("node"), TestNodes.proxyNode("limits", admin, proxy,
        ", maxConnectionsPerClient: 100, maxConnections: 1001, unlimitedClients: [127.0.0.15/32]"), proxy);
    Peers.waitForPort(admin, daemon, dir.resolve("node/daemon.log")); // the admin API starts after the proxy
    String token = Files.readString(dir.resolve("node/data/admin.token")).strip();
    List<Socket> idle = new ArrayList<>();
    String small = "GET http://127.0.0.1:" + originPort + "/small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    try {
      awaitOpen(admin, token, 0); // the start-up probe's connection gone
      // An address in proxy.unlimitedClients (a balancer, say) is not held to the per-client cap.
      for (int i = 0; i < 150; i++) {
        idle.add(open(proxy, "127.0.0.15"));
      }
      awaitOpen(admin, token, 150);
      for (Socket s : idle) {
        s.close();
      }
      idle.clear();
      awaitOpen(admin, token, 0);
      Report.row("limits", "proxy.unlimitedClients: 150 connections from a balancer's address", 150, 150, 0, 0, -1,
          -1, -1, "over maxConnectionsPerClient 100, none refused");
      // One address: 100 connections, then 503.
      for (int i = 0; i < 100; i++) {
        idle.add(open(proxy, "127.0.0.1"));
      }
      awaitOpen(admin, token, 100); // the proxy accepts asynchronously: all counted before the 101st
      String refused = refusal(proxy, "127.0.0.1");
      assertTrue(refused.startsWith("HTTP/1.1 503") && refused.contains("proxy.maxConnectionsPerClient"), refused);
      String other = exchange(proxy, "127.0.0.2", small);
      assertTrue(other.startsWith("HTTP/1.1 200"), "another address is served: " + other);
      Report.row("limits", "proxy.maxConnectionsPerClient 100: the 101st gets 503", 101, 101, 0, 0, -1, -1, -1,
          "another address served meanwhile");
      // 1000 idle connections from ten addresses, then a 1 GiB answer through proxy and ICAP.
      for (int a = 3; a < 12; a++) {
        for (int i = 0; i < 100; i++) {
          idle.add(open(proxy, "127.0.0." + a));
        }
      }
      assertEquals(1000, idle.size());
      awaitOpen(admin, token, 1000);
      long t0 = System.nanoTime();
      long got;
      try (Socket s = new Socket("127.0.0.1", proxy, InetAddress.getByName("127.0.0.12"), 0)) {
        s.setSoTimeout(60_000);
        s.getOutputStream().write(("GET http://127.0.0.1:" + originPort + "/1g.bin HTTP/1.1\r\nHost: x\r\n"
            + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        byte[] buf = new byte[1 << 16];
        long total = 0;
        int headEnd = -1;
        StringBuilder head = new StringBuilder();
        for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
          if (headEnd < 0) {
            head.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
            int e = head.indexOf("\r\n\r\n");
            if (e >= 0) {
              headEnd = e + 4;
              total += head.length() - headEnd;
            }
          } else {
            total += n;
          }
        }
        got = total;
        assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.substring(0, Math.min(200, head.length())));
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      long rss = rssKib(daemon.pid());
      assertEquals(1L << 30, got, "the whole GiB");
      assertTrue(daemon.isAlive());
      Report.row("limits", "1 GiB through proxy+ICAP past 1000 idle connections, -Xmx128m", 1, 1, 0, 0, -1, -1, ms,
          "daemon RSS " + rss / 1024 + " MiB after");
      // 1000 idle + this one = 1001 of 1001: the next is refused; once the idle ones go, all is well again. First
      // the GiB's own connection must be gone on the proxy's side too, else "this one" is the 1002nd and refused.
      awaitOpen(admin, token, 1000);
      try (Socket extra = open(proxy, "127.0.0.13")) {
        awaitOpen(admin, token, 1001);
        String over = refusal(proxy, "127.0.0.14");
        assertTrue(over.startsWith("HTTP/1.1 503") && over.contains("proxy.maxConnections)"), over);
      }
      for (Socket s : idle) {
        s.close();
      }
      idle.clear();
      String after = "";
      for (int i = 0; i < 50 && !after.startsWith("HTTP/1.1 200"); i++) {
        Thread.sleep(100); // the proxy sees the closes asynchronously
        after = exchange(proxy, "127.0.0.1", small);
      }
      assertTrue(after.startsWith("HTTP/1.1 200"), after);
      Report.row("limits", "proxy.maxConnections 1001: the 1002nd gets 503, served again after", 2, 2, 0, 0, -1, -1,
          -1, "");
    } finally {
      for (Socket s : idle) {
        s.close();
      }
      Peers.stop(daemon);
      Peers.stop(nginx);
    }
  }

  /** An idle connection from {@code from} to the proxy, checked open. */
  private static Socket open(int proxy, String from) throws Exception {
    Socket s = new Socket("127.0.0.1", proxy, InetAddress.getByName(from), 0);
    s.setSoTimeout(10_000);
    return s;
  }

  private static String exchange(int proxy, String from, String request) throws Exception {
    try (Socket s = open(proxy, from)) {
      try {
        s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      } catch (java.io.IOException e) {
        // refused and closed before we wrote: the answer is still there to read
      }
      try {
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.io.IOException e) {
        return "reset: " + e.getMessage();
      }
    }
  }

  /**
   * What the proxy says to a connection from {@code from} before it sends anything: a refused one gets its 503 at
   * once (read first: a request written into a socket the proxy is closing would turn the close into a reset).
   */
  private static String refusal(int proxy, String from) throws Exception {
    try (Socket s = open(proxy, from)) {
      s.setSoTimeout(3_000);
      try {
        return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.net.SocketTimeoutException e) {
        return "nothing within 3 s: not refused";
      }
    }
  }

  /** Waits until the proxy's portcullis_proxy_connections gauge says {@code n}. */
  private static void awaitOpen(int admin, String token, int n) throws Exception {
    String last = "";
    for (int i = 0; i < 100; i++) {
      String m = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics", token, null).body();
      java.util.regex.Matcher g = java.util.regex.Pattern.compile("(?m)^portcullis_proxy_connections (\\S+)")
          .matcher(m);
      last = g.find() ? g.group(1) : "absent";
      if (last.equals(n + ".0")) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the proxy counts " + last + " open connections, not " + n);
  }

  private static long rssKib(long pid) throws Exception {
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        return Long.parseLong(l.replaceAll("\\D", ""));
      }
    }
    return -1;
  }
}
