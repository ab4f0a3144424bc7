package io.portcullis.daemon.balancer;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.daemon.config.BalancerConfig.SendProxy;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import io.vertx.core.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A tcp frontend's sendProxy: the PROXY header it writes is what Netty's decoder reads (v1 and v2, IPv4 and IPv6),
 * and a real Squid on a {@code require-proxy-header} port behind the balancer logs the client's own address.
 */
class SendProxyTest {
  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;

  private static HAProxyMessage decode(byte[] header) {
    EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
    ch.writeInbound(Unpooled.wrappedBuffer(header, "GET / HTTP/1.1\r\n".getBytes()));
    HAProxyMessage m = ch.readInbound();
    assertEquals("GET / HTTP/1.1\r\n", ((io.netty.buffer.ByteBuf) ch.readInbound()).toString(
        java.nio.charset.StandardCharsets.US_ASCII), "the client's bytes follow the header untouched");
    return m;
  }

  @Test
  void writesHeadersThatNettysDecoderReadsInBothVersionsAndFamilies() {
    for (SendProxy v : List.of(SendProxy.V1, SendProxy.V2)) {
      HAProxyProtocolVersion version = v == SendProxy.V1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2;
      HAProxyMessage m = decode(ProxyHeader.encode(v, SocketAddress.inetSocketAddress(40001, "192.0.2.7"),
          SocketAddress.inetSocketAddress(1344, "10.1.2.3")));
      assertEquals(version, m.protocolVersion(), v.name());
      assertEquals(HAProxyCommand.PROXY, m.command());
      assertEquals(HAProxyProxiedProtocol.TCP4, m.proxiedProtocol());
      assertEquals("192.0.2.7", m.sourceAddress());
      assertEquals("10.1.2.3", m.destinationAddress());
      assertEquals(40001, m.sourcePort());
      assertEquals(1344, m.destinationPort());

      m = decode(ProxyHeader.encode(v, SocketAddress.inetSocketAddress(65535, "2001:db8::17"),
          SocketAddress.inetSocketAddress(3128, "::1")));
      assertEquals(HAProxyProxiedProtocol.TCP6, m.proxiedProtocol(), v.name());
      assertEquals("2001:db8:0:0:0:0:0:17", m.sourceAddress().replaceAll("\\b0+(?=[0-9a-f])", ""));
      assertEquals(65535, m.sourcePort());
      assertEquals(3128, m.destinationPort());

      // Two families (a v4 client on a v6 listener would not be: Java maps it to v4): UNKNOWN, not a lie.
      m = decode(ProxyHeader.encode(v, SocketAddress.inetSocketAddress(1, "192.0.2.7"),
          SocketAddress.inetSocketAddress(2, "::1")));
      assertEquals(HAProxyProxiedProtocol.UNKNOWN, m.proxiedProtocol(), v.name());
      m = decode(ProxyHeader.encode(v, SocketAddress.inetSocketAddress(1, "::ffff:192.0.2.7"),
          SocketAddress.inetSocketAddress(2, "10.1.2.3")));
      assertEquals(HAProxyProxiedProtocol.TCP4, m.proxiedProtocol(), "an IPv4-mapped address is IPv4");
      assertEquals("192.0.2.7", m.sourceAddress());
    }
  }

  @Test
  void squidBehindTheBalancerSeesTheClientsAddressAndTheExportSaysSendProxy() throws Exception {
    Peers.require("haproxy", "haproxy");
    int origin = Peers.nginx(cleanup, dir, Map.of("1k.bin", "\0".repeat(1024)));
    int proxied = freePort();
    Path sq = dir.resolve("squid");
    cleanup.add(Peers.squid(sq, proxied, List.of(
        "http_port 127.0.0.1:" + proxied + " require-proxy-header",
        "proxy_protocol_access allow localhost", // the balancer's own address may send the header
        "acl loopback src 127.0.0.0/8", // the clients' addresses, as the header tells them
        "http_access allow loopback",
        "http_access deny all")));
    int admin = freePort();
    int v1 = freePort();
    int v2 = freePort();
    int none = freePort();
    String frontends = "";
    for (String[] f : new String[][] {{"v1", "" + v1}, {"v2", "" + v2}, {"none", "" + none}}) {
      frontends += """
          - name: f%1$s
            listen: 127.0.0.1:%2$s
            mode: tcp
            sendProxy: %1$s
            check: { type: tcp, interval: 300ms, timeout: 300ms, rise: 1, fall: 2 }
            servers: [{ name: squid, address: 127.0.0.1:%3$d }]
          """.formatted(f[0], f[1], proxied);
    }
    String text = TestNodes.balancerConfig("{ name: sendproxy, eventLoops: 1 }", admin, frontends);
    cleanup.add(TestNodes.start(dir.resolve("node"), text), Daemon::stop);
    String page = "http://127.0.0.1:" + origin + "/1k.bin";
    assertEquals("200", curl("127.0.0.2", v1, page), "through the v1 frontend");
    assertEquals("200", curl("127.0.0.3", v2, page), "through the v2 frontend");
    assertNotEquals("200", curl("127.0.0.4", none, page), "without the header Squid's port takes nothing");
    String log = "";
    for (int i = 0; i < 50 && !(log.contains("127.0.0.2") && log.contains("127.0.0.3")); i++) {
      Thread.sleep(200);
      log = Peers.read(sq.resolve("access.log"));
    }
    List<String> lines = new ArrayList<>(List.of(log.split("\n")));
    assertTrue(lines.stream().anyMatch(l -> l.contains(" 127.0.0.2 ") && l.contains("/1k.bin")), log);
    assertTrue(lines.stream().anyMatch(l -> l.contains(" 127.0.0.3 ") && l.contains("/1k.bin")), log);
    assertTrue(lines.stream().noneMatch(l -> l.contains(" 127.0.0.1 ") && l.contains("/1k.bin")),
        "no request logged with the balancer's address: " + log);

    TestNodes.Answer cfg = TestNodes.call("GET", "http://127.0.0.1:" + admin + "/api/v1/balancer/haproxy.cfg",
        TestNodes.token(dir.resolve("node")), null);
    assertEquals(200, cfg.status(), cfg.body());
    assertTrue(cfg.body().contains(" send-proxy\n") || cfg.body().contains(" send-proxy "), cfg.body());
    assertTrue(cfg.body().contains(" send-proxy-v2"), cfg.body());
    Path file = dir.resolve("haproxy.cfg");
    Files.writeString(file, cfg.body());
    Run check = Host.runIn(dir, "haproxy", "-c", "-f", file.toString());
    assertEquals(0, check.exit(), check.output() + "\n" + cfg.body());
  }

  private String curl(String from, int port, String url) throws Exception {
    return Curl.in(dir).maxTime(10).proxy(port).with("--interface", from).status(url);
  }
}
