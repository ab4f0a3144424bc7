package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.HostPort;

/**
 * Where a request goes: its scheme, the origin to connect to, the authority the Host header carries and the path
 * in origin form. A CONNECT's target has the path {@code ""}.
 */
public record Target(String scheme, HostPort origin, String authority, String path) {
  /** The absolute URI the rules, the access log and the events see. */
  public String uri() {
    return path.isEmpty() ? authority : scheme + "://" + authority + path;
  }

  /** The target of an absolute-form {@code http://} request-target, or null when it is not one or names no host. */
  public static Target absolute(String uri) {
    if (!uri.regionMatches(true, 0, "http://", 0, 7)) {
      return null;
    }
    int slash = uri.indexOf('/', 7);
    String authority = slash < 0 ? uri.substring(7) : uri.substring(7, slash);
    HostPort origin = hostPort(authority, 80);
    return origin == null ? null : new Target("http", origin, authority, slash < 0 ? "/" : uri.substring(slash));
  }

  /** The target of a CONNECT's authority-form request-target (a port is required), or null. */
  public static Target connect(String authority) {
    HostPort origin = hostPort(authority, -1);
    return origin == null || origin.port() <= 0 ? null : new Target("https", origin, authority, "");
  }

  /** host[:port] (IPv6 in brackets) with {@code defaultPort}, or null; user info is refused (RFC 9110 4.2.4). */
  public static HostPort hostPort(String authority, int defaultPort) {
    if (authority.lastIndexOf('@') >= 0) {
      return null;
    }
    try {
      if (authority.startsWith("[")) {
        int close = authority.indexOf(']');
        String port = authority.substring(close + 1);
        return HostPort.parse(authority.substring(0, close + 1) + (port.isEmpty() ? ":" + defaultPort : port));
      }
      return HostPort.parse(authority.indexOf(':') >= 0 ? authority : authority + ":" + defaultPort);
    } catch (RuntimeException e) {
      return null;
    }
  }
}
