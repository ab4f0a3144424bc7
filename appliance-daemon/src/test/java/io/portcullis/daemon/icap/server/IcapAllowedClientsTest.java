package io.portcullis.daemon.icap.server;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.portcullis.testsupport.Wire;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
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

  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;
  Daemon daemon;
  int admin;
  int icap;
  String token;

  void start(String allowed) throws Exception {
    admin = freePort();
    icap = freePort();
    String text = "admin: { listen: 127.0.0.1:" + admin + " }\nproxy: { enabled: false }\n"
        + "icap: { listen: 0.0.0.0:" + icap + allowed + " }\n"
        + "rules:\n  access:\n    - { name: boss-only, when: { hosts: [casino.test], users: [boss] }, action: allow }\n"
        + "    - { name: no-casino, when: { hosts: [casino.test] }, action: block }\n";
    daemon = cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
    token = TestNodes.token(dir.resolve("data"));
  }

  /** What the ICAP server answers {@code REQMOD} from the local address {@code from}: all it sent until it closed. */
  String reqmodFrom(String from) throws IOException {
    try (Socket s = Wire.connect(from, icap)) {
      try {
        s.getOutputStream().write(REQMOD.getBytes(StandardCharsets.US_ASCII));
        s.shutdownOutput();
      } catch (IOException e) {
        return "(write failed: " + e.getMessage() + ")";
      }
      return Wire.readToClose(s);
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
