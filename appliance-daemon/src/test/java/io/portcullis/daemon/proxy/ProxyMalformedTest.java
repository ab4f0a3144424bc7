package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Malformed and smuggling requests through our proxy to a real nginx, whose access log shows what reached it: each
 * case must end in an error answer and a close, and no hidden request may reach the origin.
 */
class ProxyMalformedTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static int origin;
  static int proxy;

  @BeforeAll
  static void start() throws Exception {
    origin = Peers.nginx(cleanup, dir, Map.of("index.html", "hello\n"));
    proxy = freePort();
    String text = "admin: { listen: 127.0.0.1:" + freePort() + " }\nicap: { enabled: false }\n"
        + "proxy: { deniedDestinations: [], listen: 127.0.0.1:" + proxy + ", headerTimeout: 1s }\n";
    cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  /** What came back before the proxy closed: the bytes, and whether it closed within the read timeout. */
  record Exchange(String text, boolean closed) {
    List<Integer> statuses() {
      return Wire.statuses(Pattern.compile("(?m)^HTTP/1\\.[01] (\\d{3}) "), text);
    }
  }

  static Exchange send(String bytes) throws IOException {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
      } catch (IOException e) {
        // the proxy may refuse and close before it has read everything; what it answered still counts
      }
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          got.write(buf, 0, n);
        }
        return new Exchange(got.toString(StandardCharsets.ISO_8859_1), true);
      } catch (SocketTimeoutException e) {
        return new Exchange(got.toString(StandardCharsets.ISO_8859_1), false);
      } catch (IOException e) {
        return new Exchange(got.toString(StandardCharsets.ISO_8859_1), true); // reset after the answer
      }
    }
  }

  @Test
  void everyMalformedRequestGetsAnErrorAndACloseAndNothingIsSmuggled() throws Exception {
    List<MalformedHttp.Case> cases = MalformedHttp.all(origin);
    assertTrue(cases.size() >= 60, cases.size() + " cases");
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      MalformedHttp.Case c = cases.get(i);
      Exchange x = send(c.bytes());
      List<Integer> st = x.statuses();
      int last = st.isEmpty() ? -1 : st.get(st.size() - 1);
      if (!x.closed()) {
        failures.add("c" + i + " " + c.name() + ": connection left open; got " + st);
      } else if (c.status() != 0 && last != c.status()) {
        failures.add("c" + i + " " + c.name() + ": expected " + c.status() + ", got " + st);
      } else if (c.status() == 0 && last < 400) {
        failures.add("c" + i + " " + c.name() + ": expected an error answer, got " + st);
      }
    }
    // A sound request on a fresh connection is served: the proxy is fine after all that.
    Exchange ok = send("GET http://127.0.0.1:" + origin + "/index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Connection: close\r\n\r\n");
    assertEquals(List.of(200), ok.statuses());
    String log = Files.readString(dir.resolve("nginx/access.log"));
    assertTrue(log.contains("/index.html"), "nginx logs what reaches it");
    for (int i = 0; i < cases.size(); i++) {
      if (!cases.get(i).originMaySee() && Pattern.compile("/c" + i + "[ ?]").matcher(log).find()) {
        failures.add("c" + i + " " + cases.get(i).name() + ": reached the origin");
      }
    }
    if (log.contains("SMUGGLED")) {
      failures.add("smuggled requests reached the origin:\n" + log.lines().filter(l -> l.contains("SMUGGLED"))
          .reduce("", (a, b) -> a + b + "\n"));
    }
    assertTrue(failures.isEmpty(), failures.size() + " of " + cases.size() + " cases failed:\n"
        + String.join("\n", failures));
  }

  @Test
  void aHeadThatTricklesInSlowerThanTheHeaderTimeoutGets408AndAClose() throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(("GET http://127.0.0.1:" + origin + "/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      // Keep sending header lines, slowly, as slowloris does: the idle timeout never fires, the header timeout must.
      String got = "";
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      for (int i = 0; i < 40; i++) {
        try {
          s.getOutputStream().write(("X-Slow-" + i + ": 1\r\n").getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
          break; // closed by the proxy
        }
        Thread.sleep(100);
        if (in.available() > 0) {
          break;
        }
      }
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          all.write(buf, 0, n);
        }
      } catch (IOException e) {
        // reset after the answer
      }
      got = all.toString(StandardCharsets.ISO_8859_1);
      assertTrue(got.startsWith("HTTP/1.1 408 "), got);
    }
    assertTrue(!Files.readString(dir.resolve("nginx/access.log")).contains("/slow"));
  }

  @Test
  void anAnswerWhoseBodyBreaksBeforeItsFirstByteIsA502NotASilentClose() throws Exception {
    // An origin whose head is sound but whose first chunk size is not: nothing of the answer went out yet, so the
    // user must get our 502 page, not a connection closed without a word (statuses []).
    try (java.net.ServerSocket bad = new java.net.ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      Thread t = new Thread(() -> {
        try (Socket c = bad.accept()) {
          InputStream in = c.getInputStream();
          StringBuilder head = new StringBuilder();
          while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
              return;
            }
            head.append((char) b);
          }
          c.getOutputStream().write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
              .getBytes(StandardCharsets.ISO_8859_1));
        } catch (IOException e) {
          // the proxy went away
        }
      }, "bad-origin");
      t.setDaemon(true);
      t.start();
      Exchange x = send("GET http://127.0.0.1:" + bad.getLocalPort() + "/bad HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
      assertEquals(List.of(502), x.statuses(), x.text());
    }
  }
}
