package io.portcullis.daemon.config;

/** A listen or server address, {@code host:port} ({@code [v6]:port} for IPv6). */
public record HostPort(String host, int port) {

  /** Parses {@code host:port}; the message of the exception says what is wrong, for the config error. */
  public static HostPort parse(String text) {
    String s = text.trim();
    int colon = s.lastIndexOf(':');
    if (colon <= 0 || colon == s.length() - 1) {
      throw new IllegalArgumentException("is not host:port");
    }
    String host = s.substring(0, colon);
    String portText = s.substring(colon + 1);
    if (host.startsWith("[")) {
      if (!host.endsWith("]")) {
        throw new IllegalArgumentException("is not host:port");
      }
      host = host.substring(1, host.length() - 1);
      if (!Addresses.isIpv6Literal(host)) {
        throw new IllegalArgumentException("has no valid IPv6 address in brackets");
      }
    } else if (host.contains(":")) {
      throw new IllegalArgumentException("is not host:port (write an IPv6 address in brackets)");
    } else if (!Addresses.isIpv4Literal(host) && !Addresses.isHostName(host)) {
      throw new IllegalArgumentException("has no valid host name or address");
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("is not a port");
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("is not a port");
    }
    return new HostPort(host, port);
  }

  /** True when only this machine can reach the address. */
  public boolean isLoopback() {
    // Literals only (and the name localhost): a name like 127.corp.example may resolve anywhere.
    return host.equals("localhost") || (host.startsWith("127.") && Addresses.isIpv4Literal(host))
        || host.equals("::1");
  }

  /**
   * The authority this node's own clients use to reach this listener: loopback for a wildcard address, IPv6 in
   * brackets ({@code 0.0.0.0:9090} is {@code 127.0.0.1:9090}, {@code [::]:1344} is {@code [::1]:1344}).
   */
  public String localAuthority() {
    String h = host.equals("0.0.0.0") ? "127.0.0.1" : host.equals("::") ? "[::1]"
        : host.contains(":") ? "[" + host + "]" : host;
    return h + ":" + port;
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
