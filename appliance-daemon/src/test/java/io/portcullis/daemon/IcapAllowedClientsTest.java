package io.portcullis.daemon;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * icap.allowedClients: the ICAP server serves the networks listed and closes any other client at accept, counted,
 * without a byte of answer, so an outsider can neither test content against the rules nor claim an identity.
 */
class IcapAllowedClientsTest {
  /** A REQMOD that claims a user the rules treat specially. */
  static final String HTTP = "GET http://casino.test/ HTTP/1.1\r\nHost: casino.test\r\n\r\n";
  static final String REQMOD = "REQMOD icap://127.0.0.1/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1\r\n"
      + "X-Client-IP: 10.1.2.3\r\nX-Client-Username: boss\r\nAllow: 204\r\nEncapsulated: req-hdr=0, null-body="
      + HTTP.length() + "\r\n\r\n" + HTTP;

  @TempDir
  Path dir;
  Daemon daemon;
  int admin;
  int icap;
  String token;

  @AfterEach
  void stop() {
    if (daemon != null) {
      daemon.stop();
    }
  }

  void start(String allowed) throws Exception {
    admin = freePort();
    icap = freePort();
    String text = "admin: { listen: 127.0.0.1:" + admin + " }\nproxy: { enabled: false }\n"
        + "icap: { listen: 0.0.0.0:" + icap + allowed + " }\n"
        + "rules:\n  access:\n    - { name: boss-only, when: { hosts: [casino.test], users: [boss] }, action: allow }\n"
        + "    - { name: no-casino, when: { hosts: [casino.test] }, action: block }\n";
    daemon = Daemon.start(new Daemon.Options(dir.resolve("data"), null), text, ConfigLoader.parse(text), "test");
    token = TestNodes.token(dir.resolve("data"));
  }

  /** What the ICAP server answers {@code REQMOD} from the local address {@code from}: all it sent until it closed. */
  String reqmodFrom(String from) throws IOException {
    try (Socket s = new Socket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), icap), 5000);
      s.setSoTimeout(20_000);
      try {
        s.getOutputStream().write(REQMOD.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
      } catch (IOException e) {
        return "(write failed: " + e.getMessage() + ")";
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      try {
        for (int n; (n = in.read(buf)) > 0; ) {
          out.write(buf, 0, n);
        }
      } catch (java.net.SocketException e) {
        // a reset after the close: what was read is the answer
      }
      return out.toString(StandardCharsets.US_ASCII);
    }
  }

  double denied() throws Exception {
    String m = call("GET", "http://127.0.0.1:" + admin + "/metrics", token, null).body();
    Matcher x = Pattern.compile("(?m)^portcullis_icap_denied_clients_total(?:\\{[^}]*\\})? (\\S+)$").matcher(m);
    assertTrue(x.find(), m);
    return Double.parseDouble(x.group(1));
  }

  @Test
  void clientsOutsideTheListAreClosedAtAcceptAndCounted() throws Exception {
    start(", allowedClients: [127.0.0.5/32]");
    String served = reqmodFrom("127.0.0.5");
    assertTrue(served.startsWith("ICAP/1.0 204 "), "the listed client is served, its user believed: " + served);
    assertEquals(0.0, denied());
    String refused = reqmodFrom("127.0.0.1");
    assertEquals("", refused, "not a byte for a client outside the list");
    assertEquals(1.0, denied());
    // c-icap-client, from 127.0.0.1 too, gets no OPTIONS answer.
    Run c = Host.runIn(dir, Peers.require("c-icap-client", "c-icap"), "-i", "127.0.0.1", "-p",
        Integer.toString(icap), "-s", "av/reqmod", "-v");
    assertTrue(!c.output().contains("ICAP/1.0 200"), c.output());
    assertEquals(2.0, denied());
  }

  @Test
  void theDefaultServesLoopbackAndPrivateNetworks() throws Exception {
    start("");
    JsonObject cfg = call("GET", "http://127.0.0.1:" + admin + "/api/v1/config?format=set", token, null).json();
    assertTrue(cfg.encode().length() > 0);
    assertEquals("[127.0.0.0/8, 0:0:0:0:0:0:0:1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]",
        daemon.config().icap().allowedClients().toString());
    Run c = Host.runIn(dir, Peers.require("c-icap-client", "c-icap"), "-i", "127.0.0.1", "-p",
        Integer.toString(icap), "-s", "av/reqmod", "-v");
    assertTrue(c.output().contains("ICAP/1.0 200 OK"), c.output());
    String blocked = reqmodFrom("127.0.0.1");
    assertTrue(blocked.startsWith("ICAP/1.0 204 "), "boss may: " + blocked);
    assertEquals(0.0, denied());
  }
}
