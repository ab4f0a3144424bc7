package io.portcullis.daemon.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile TLS input at the start of a tunnel, with inspection on: garbage, plain HTTP, a truncated hello (the client
 * then silent, or gone), a hello whose lengths lie, one larger than proxy.tls.maxHelloBytes, and a good hello without
 * SNI sent byte by byte. The refused are closed, counted (portcullis_tls_tunnels_total{decision="block"}), and pass
 * no byte to the origin (a witness counts what reaches it); the good one is answered by the proxy's own TLS. At the
 * end no client connection is left open on the node.
 */
@Tag("reliability")
class HostileTlsTest {
  @TempDir
  static Path dir;
  static Process node;
  static int admin;
  static int proxy;
  static ServerSocket witness;
  static ServerSocket closer; // an origin that closes at once: the inspected case's look at its certificate fails
  static final AtomicLong bytesAtWitness = new AtomicLong();

  @BeforeAll
  static void start() throws Exception {
    witness = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    Thread t = new Thread(() -> {
      while (!witness.isClosed()) {
        try {
          Socket s = witness.accept();
          Thread r = new Thread(() -> {
            try (s; InputStream in = s.getInputStream()) {
              byte[] b = new byte[4096];
              for (int n; (n = in.read(b)) > 0; ) {
                bytesAtWitness.addAndGet(n);
              }
            } catch (IOException e) {
              // the proxy closed it
            }
          }, "witness-read");
          r.setDaemon(true);
          r.start();
        } catch (IOException e) {
          // closed at the end
        }
      }
    }, "witness");
    t.setDaemon(true);
    t.start();
    closer = new ServerSocket(0, 100, InetAddress.getLoopbackAddress());
    Thread c = new Thread(() -> {
      while (!closer.isClosed()) {
        try {
          closer.accept().close();
        } catch (IOException e) {
          // closed at the end
        }
      }
    }, "closer");
    c.setDaemon(true);
    c.start();
    admin = Host.freePort();
    proxy = Host.freePort();
    node = Peers.portcullis(dir, """
        node: { name: hostile-tls, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { listen: 127.0.0.1:%d, deniedDestinations: [], connectPorts: [%d, %d],
                 tls: { inspect: true, helloTimeout: 2s, maxHelloBytes: 4096 } }
        icap: { enabled: false }
        """.formatted(admin, proxy, witness.getLocalPort(), closer.getLocalPort()), admin);
  }

  @AfterAll
  static void stop() throws IOException {
    Peers.stop(node);
    witness.close();
    closer.close();
  }

  /** A ClientHello as the JDK's TLS client sends it, for {@code sni} (null: none). */
  static byte[] hello(String sni) throws Exception {
    SSLEngine e = SSLContext.getDefault().createSSLEngine();
    e.setUseClientMode(true);
    SSLParameters p = e.getSSLParameters();
    p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
    e.setSSLParameters(p);
    ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
    e.wrap(ByteBuffer.allocate(0), out);
    return Arrays.copyOf(out.array(), out.position());
  }

  /** What a case sends after the 200, and how: bytes, byte by byte or not, then close or stay. */
  record Case(String family, byte[] bytes, boolean byteByByte, boolean closeAfter, boolean mustBeRefused) {
  }

  /** The metric line's value (a counter summed over its label sets that contain {@code labels}), 0 if absent. */
  static double metric(String name, String labels) throws Exception {
    String m = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/metrics",
        TestNodes.token(dir.resolve("data")), null).body();
    double sum = 0;
    for (String line : m.split("\n")) {
      if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.contains(labels)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /**
   * Sends {@code c} through a tunnel (to the witness; an inspected case to the closer); what came back after the
   * 200, or null on a hang.
   */
  static byte[] run(Case c) throws Exception {
    try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy)) {
      s.setSoTimeout(20_000); // far past helloTimeout: no answer by then is a hang
      String authority = "127.0.0.1:" + (c.mustBeRefused() ? witness : closer).getLocalPort();
      s.getOutputStream().write(("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) {
          return new byte[] {'!'}; // no 200 at all
        }
        head.write(b);
      }
      try {
        if (c.byteByByte()) {
          for (byte b : c.bytes()) {
            s.getOutputStream().write(b);
            s.getOutputStream().flush();
          }
        } else {
          s.getOutputStream().write(c.bytes());
        }
        if (c.closeAfter()) {
          s.shutdownOutput();
        }
      } catch (IOException e) {
        // the proxy closed first: what it read was enough to refuse
      }
      try {
        return in.readNBytes(c.mustBeRefused() ? Integer.MAX_VALUE : 5);
      } catch (SocketTimeoutException e) {
        return null;
      } catch (IOException e) {
        return new byte[0]; // reset: closed
      }
    }
  }

  @Test
  void hostileHellosAreClosedCountedAndPassNothing() throws Exception {
    byte[] good = hello("origin.test");
    byte[] lying = good.clone();
    lying[3] = (byte) 0x7f; // the record says it is far longer than the hello inside it
    lying[4] = (byte) 0xff;
    byte[] huge = new byte[6000];
    new Random(1).nextBytes(huge);
    huge[0] = 22;
    huge[1] = 3;
    huge[2] = 1;
    huge[3] = (byte) (5990 >> 8);
    huge[4] = (byte) (5990 & 0xff);
    huge[5] = 1; // client_hello
    huge[6] = 0;
    huge[7] = (byte) (5986 >> 8);
    huge[8] = (byte) (5986 & 0xff);
    byte[] garbage = new byte[512];
    new Random(2).nextBytes(garbage);
    garbage[0] = 'Z';
    List<Case> cases = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      cases.add(new Case("garbage bytes", garbage, false, false, true));
      cases.add(new Case("plain HTTP in the tunnel", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII), false, false, true));
      cases.add(new Case("truncated hello, client silent", Arrays.copyOf(good, good.length / 2), false, false, true));
      cases.add(new Case("truncated hello, client gone", Arrays.copyOf(good, good.length / 2), false, true, true));
      cases.add(new Case("hello whose record length lies", lying, false, false, true));
      cases.add(new Case("hello over maxHelloBytes", huge, false, false, true));
    }
    cases.add(new Case("hello without SNI, byte by byte (inspected)", hello(null), true, false, false));
    double blockedBefore = metric("portcullis_tls_tunnels_total", "decision=\"block\"");
    List<Report.Outcome> outcomes = new ArrayList<>();
    List<String> wrong = new ArrayList<>();
    int refusals = 0;
    for (Case c : cases) {
      long before = bytesAtWitness.get();
      byte[] got = run(c);
      boolean hang = got == null;
      boolean passed;
      if (c.mustBeRefused()) {
        refusals += c.closeAfter() ? 0 : 1;
        passed = !hang && got.length == 0;
      } else {
        // The proxy's own TLS answers: a handshake record (ServerHello), not the origin (which is no TLS server).
        passed = !hang && got.length == 5 && got[0] == 22 && got[1] == 3;
      }
      boolean smuggled = bytesAtWitness.get() != before;
      if (!passed || smuggled) {
        wrong.add(c.family() + ": " + (hang ? "hang" : Arrays.toString(got)) + (smuggled ? ", bytes reached the origin"
            : ""));
      }
      outcomes.add(new Report.Outcome() {
        public String family() {
          return c.family();
        }

        public boolean passed() {
          return passed && !smuggled;
        }

        public boolean hang() {
          return hang;
        }

        public boolean smuggled() {
          return smuggled;
        }
      });
    }
    int expected = refusals;
    Host.waitUntil("the refusals counted", () -> metric("portcullis_tls_tunnels_total", "decision=\"block\"")
        - blockedBefore >= expected);
    Host.waitUntil("no client connection left open on the node",
        () -> metric("portcullis_proxy_connections", "") == 0);
    Report.families("tls", outcomes, node.isAlive(), true);
    assertEquals(List.of(), wrong);
    assertTrue(node.isAlive());
  }
}
