package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.Cidr;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Whether an address lies in a network; literal addresses only (never DNS). */
public final class CidrMatcher {
  private final byte[] network;
  private final int prefix;

  public CidrMatcher(Cidr cidr) {
    this.network = literal(cidr.address());
    this.prefix = cidr.prefix();
  }

  byte[] network() {
    return network;
  }

  int prefix() {
    return prefix;
  }

  public boolean matches(byte[] address) {
    if (address == null || address.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) {
        return false;
      }
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    int mask = (0xff << (8 - rest)) & 0xff;
    return (address[full] & mask) == (network[full] & mask);
  }

  /** The bytes of a literal IPv4/IPv6 address, or null if {@code text} is not one. */
  public static byte[] literal(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    char c = text.charAt(0);
    if (!(Character.digit(c, 16) >= 0 || c == ':' || c == '[')) {
      return null; // a name: never resolved here
    }
    try {
      String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
      if (!t.matches("[0-9A-Fa-f:.]+")) {
        return null;
      }
      byte[] b = InetAddress.getByName(t).getAddress();
      if (b.length == 16 && isV4Mapped(b)) {
        byte[] v4 = new byte[4];
        System.arraycopy(b, 12, v4, 0, 4);
        return v4;
      }
      return b;
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static boolean isV4Mapped(byte[] b) {
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
  }
}
