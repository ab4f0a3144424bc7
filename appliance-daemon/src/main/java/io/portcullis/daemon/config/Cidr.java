package io.portcullis.daemon.config;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** A network, {@code address/prefix} (a bare address is a /32 or /128). */
public record Cidr(String address, int prefix) {

  /** Parses a CIDR; the message of the exception says what is wrong, for the config error. */
  public static Cidr parse(String text) {
    String s = text.trim();
    int slash = s.indexOf('/');
    String addr = slash < 0 ? s : s.substring(0, slash);
    boolean v4 = Addresses.isIpv4Literal(addr);
    if (!v4 && !Addresses.isIpv6Literal(addr)) {
      throw new IllegalArgumentException("is not an IP address or CIDR");
    }
    int max = v4 ? 32 : 128;
    int prefix = max;
    if (slash >= 0) {
      try {
        prefix = Integer.parseInt(s.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("has no valid prefix length");
      }
      if (prefix < 0 || prefix > max) {
        throw new IllegalArgumentException("has a prefix length outside 0-" + max);
      }
    }
    return new Cidr(canonical(addr), prefix);
  }

  private static String canonical(String literal) {
    try {
      return InetAddress.getByName(literal).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("is not an IP address or CIDR");
    }
  }

  @Override
  public String toString() {
    return address + "/" + prefix;
  }
}
