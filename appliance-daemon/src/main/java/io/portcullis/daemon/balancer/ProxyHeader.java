package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig.SendProxy;
import io.vertx.core.net.SocketAddress;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a tcp frontend sends a server
 * before the client's bytes, so that the server sees the client's address and the address it connected to.
 * Addresses of two families, or none (a Unix socket), are sent as UNKNOWN, which a server takes as "use the
 * connection's own addresses".
 */
final class ProxyHeader {
  /** The 12 bytes every version 2 header starts with. */
  private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

  private ProxyHeader() {
  }

  /** The header of {@code version} for a client at {@code source} connected to {@code destination}. */
  static byte[] encode(SendProxy version, SocketAddress source, SocketAddress destination) {
    InetAddress src = literal(source);
    InetAddress dst = literal(destination);
    boolean known = src != null && dst != null && (src instanceof Inet4Address) == (dst instanceof Inet4Address);
    return switch (version) {
      case V1 -> (known ? "PROXY " + (src instanceof Inet4Address ? "TCP4 " : "TCP6 ") + src.getHostAddress() + " "
          + dst.getHostAddress() + " " + source.port() + " " + destination.port() + "\r\n" : "PROXY UNKNOWN\r\n")
          .getBytes(StandardCharsets.US_ASCII);
      case V2 -> v2(known ? src : null, known ? dst : null, known ? source.port() : 0, known ? destination.port() : 0);
      case NONE -> new byte[0];
    };
  }

  private static byte[] v2(InetAddress src, InetAddress dst, int srcPort, int dstPort) {
    int length = src == null ? 0 : src.getAddress().length * 2 + 4;
    ByteBuffer b = ByteBuffer.allocate(16 + length);
    b.put(V2_SIGNATURE);
    b.put((byte) 0x21); // version 2, PROXY (a relayed connection)
    b.put(src == null ? 0x00 : src instanceof Inet4Address ? (byte) 0x11 : (byte) 0x21); // UNSPEC, TCP over IPv4 / 6
    b.putShort((short) length);
    if (src != null) {
      b.put(src.getAddress()).put(dst.getAddress()).putShort((short) srcPort).putShort((short) dstPort);
    }
    return b.array();
  }

  /** The socket's IP address (an IPv4-mapped IPv6 one as IPv4); null for none (a Unix socket). */
  private static InetAddress literal(SocketAddress a) {
    if (a == null || a.hostAddress() == null || a.hostAddress().isEmpty()) {
      return null;
    }
    try {
      return InetAddress.getByName(a.hostAddress()); // a literal: no name lookup
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
