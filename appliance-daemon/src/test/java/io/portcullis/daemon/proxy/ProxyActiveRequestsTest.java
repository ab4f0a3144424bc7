package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.ConfigLoader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * proxy.maxActiveRequests: with that many requests in progress (an origin holds their answers), the next request gets
 * 503 at once and is counted; once the answers end the count goes back down; an open CONNECT tunnel is not counted.
 */
class ProxyActiveRequestsTest {
  @TempDir
  Path dir;

  @Test
  void pastMaxActiveRequestsARequestGets503UntilTheOthersEnd() throws Exception {
    CountDownLatch arrived = new CountDownLatch(2);
    CountDownLatch release = new CountDownLatch(1);
    List<Socket> accepted = new ArrayList<>();
    try (ServerSocket origin = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(() -> serve(origin, arrived, release, accepted), "holding-origin");
      acceptor.setDaemon(true);
      acceptor.start();
      int proxy = freePort();
      String text = """
          admin: { listen: 127.0.0.1:%d }
          proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, maxActiveRequests: 2, connectPorts: [%d] }
          icap: { enabled: false }
          """.formatted(freePort(), proxy, origin.getLocalPort());
      Daemon daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null), text, ConfigLoader.parse(text),
          "test");
      String get = "GET http://127.0.0.1:" + origin.getLocalPort() + "/held HTTP/1.1\r\nHost: x\r\n\r\n";
      try (Socket a = client(proxy); Socket b = client(proxy)) {
        a.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
        b.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
        assertTrue(arrived.await(30, TimeUnit.SECONDS), "both requests reached the origin, which holds them");
        assertEquals("2.0", metric(daemon, "portcullis_proxy_requests_active"));

        try (Socket c = client(proxy)) {
          c.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
          String refused = head(c.getInputStream());
          assertTrue(refused.startsWith("HTTP/1.1 503"), refused);
        }
        assertEquals("1.0", metric(daemon, "portcullis_proxy_requests_refused_total"));

        release.countDown();
        assertTrue(head(a.getInputStream()).startsWith("HTTP/1.1 200"));
        assertTrue(head(b.getInputStream()).startsWith("HTTP/1.1 200"));
      }
      awaitMetric(daemon, "portcullis_proxy_requests_active", "0.0");
      try (Socket c = client(proxy)) {
        c.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
        assertTrue(head(c.getInputStream()).startsWith("HTTP/1.1 200"), "served again once the others ended");
      }
      awaitMetric(daemon, "portcullis_proxy_requests_active", "0.0");
      try (Socket t = client(proxy)) {
        t.getOutputStream().write(("CONNECT 127.0.0.1:" + origin.getLocalPort() + " HTTP/1.1\r\nHost: x\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        assertTrue(head(t.getInputStream()).startsWith("HTTP/1.1 200"), "the tunnel opened");
        // The 200 goes out just before the proxy joins the sockets; then, with the tunnel open, nothing is counted.
        awaitMetric(daemon, "portcullis_proxy_requests_active", "0.0");
      } finally {
        daemon.stop();
      }
    } finally {
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  /** The origin: each request head counts down {@code arrived}; the answer waits for {@code release}. */
  private static void serve(ServerSocket origin, CountDownLatch arrived, CountDownLatch release, List<Socket> all) {
    while (!origin.isClosed()) {
      Socket s;
      try {
        s = origin.accept();
      } catch (IOException e) {
        return;
      }
      synchronized (all) {
        all.add(s);
      }
      Thread t = new Thread(() -> {
        try {
          while (!head(s.getInputStream()).isEmpty()) {
            arrived.countDown();
            release.await();
            s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII));
          }
        } catch (IOException | InterruptedException e) {
          // the proxy closed it
        }
      }, "holding-origin-connection");
      t.setDaemon(true);
      t.start();
    }
  }

  private static Socket client(int proxy) throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy);
    s.setSoTimeout(30_000);
    return s;
  }

  /** A message head, up to its blank line (a body, if any, stays unread); empty at the end of the stream. */
  private static String head(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0) {
      out.write(c);
      byte[] b = out.toByteArray();
      int n = b.length;
      if (n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n') {
        break;
      }
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  private static String metric(Daemon d, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)").matcher(d.scrape());
    return m.find() ? m.group(1) : "absent";
  }

  /** Waits until {@code name} reads {@code value}: the proxy ends its side of an exchange after ours. */
  private static void awaitMetric(Daemon d, String name, String value) throws InterruptedException {
    io.portcullis.testsupport.Host.waitUntil(name + " = " + value, () -> metric(d, name).equals(value));
  }
}
