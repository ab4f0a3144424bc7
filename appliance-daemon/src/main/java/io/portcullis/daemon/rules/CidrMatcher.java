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

  /** Whether {@code address} (as {@link #literal} gives it; null matches nothing) lies in any of {@code networks}. */
  public static boolean anyMatches(java.util.List<CidrMatcher> networks, byte[] address) {
    for (CidrMatcher m : networks) {
      if (m.matches(address)) {
        return true;
      }
    }
    return false;
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
    byte[] quad = dottedQuad(text);
    if (quad != null) {
      return quad; // the common case, without InetAddress (this runs for every request)
    }
    try {
      String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
      for (int i = 0; i < t.length(); i++) {
        char ch = t.charAt(i);
        if (!(Character.digit(ch, 16) >= 0 || ch == ':' || ch == '.')) {
          return null; // not an address literal: never resolved here
        }
      }
      if (t.isEmpty() || t.indexOf(':') < 0) {
        return null; // not IPv6, and not a dotted quad: "cafe.bad" or "2130706433" would be a DNS look-up here
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

  /** a.b.c.d with each part 0..255 in decimal, or null. */
  private static byte[] dottedQuad(String t) {
    byte[] out = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i < t.length(); i++) {
      char ch = t.charAt(i);
      if (ch >= '0' && ch <= '9') {
        value = value < 0 ? ch - '0' : value * 10 + (ch - '0');
        if (value > 255) {
          return null;
        }
      } else if (ch == '.' && value >= 0 && part < 3) {
        out[part++] = (byte) value;
        value = -1;
      } else {
        return null;
      }
    }
    if (part != 3 || value < 0) {
      return null;
    }
    out[3] = (byte) value;
    return out;
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
