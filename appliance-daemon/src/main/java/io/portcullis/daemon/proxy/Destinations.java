package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.rules.CidrMatcher;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the proxy may connect: not to {@code proxy.deniedDestinations} (loopback, link-local and the like, so that a
 * user cannot reach the node's own services or a cloud's metadata through it, as Squid's {@code to_localhost}), and
 * never to one of this node's own listening ports on one of its own addresses, whatever that list says. Checked on
 * the address the proxy then connects to, after name resolution, so no spelling or DNS answer leads round it.
 */
public final class Destinations {
  /** How old the list of this host's addresses may be: a DHCP renewal, a VIP or an IPv6 temporary address appear. */
  static final long ADDRESSES_MAX_AGE_NANOS = 5_000_000_000L;
  private static final java.util.concurrent.atomic.AtomicReference<Listed> HOST =
      new java.util.concurrent.atomic.AtomicReference<>(new Listed(Set.of(), Long.MIN_VALUE / 2));
  private static final java.util.concurrent.atomic.AtomicBoolean LISTING =
      new java.util.concurrent.atomic.AtomicBoolean();

  private record Listed(Set<ByteBuffer> addresses, long at) {
  }

  private final List<CidrMatcher> denied;
  private final Map<Integer, String> ownPorts;

  Destinations(List<CidrMatcher> denied, Map<Integer, String> ownPorts) {
    this.denied = List.copyOf(denied);
    this.ownPorts = Map.copyOf(ownPorts);
  }

  /** The destinations of {@code c}; this host's addresses are listed now, then again in the background as they age. */
  public static Destinations of(Config c) {
    Map<Integer, String> own = new LinkedHashMap<>();
    own.put(c.admin().listen().port(), "the admin API");
    if (c.icap().enabled()) {
      own.put(c.icap().listen().port(), "the ICAP server");
    }
    if (c.proxy().enabled()) {
      own.put(c.proxy().listen().port(), "the proxy itself");
    }
    if (c.console().ssh().enabled()) {
      own.put(c.console().ssh().listen().port(), "the SSH console");
    }
    if (c.cluster().role() == io.portcullis.daemon.config.ClusterConfig.Role.CONTROL) {
      own.put(c.cluster().listen().port(), "the cluster's control port");
    }
    if (c.balancer().enabled()) {
      for (var f : c.balancer().frontends()) {
        own.putIfAbsent(f.listen().port(), "the balancer's frontend " + f.name());
      }
    }
    HOST.set(new Listed(hostAddresses(), System.nanoTime()));
    return new Destinations(c.proxy().deniedDestinations().stream().map(CidrMatcher::new).toList(), own);
  }

  /** This host's addresses, at most a few seconds old; a newer list is made off the caller's thread. */
  private static Set<ByteBuffer> localAddresses() {
    Listed l = HOST.get();
    if (System.nanoTime() - l.at() > ADDRESSES_MAX_AGE_NANOS && LISTING.compareAndSet(false, true)) {
      java.util.concurrent.ForkJoinPool.commonPool().execute(() -> {
        try {
          HOST.set(new Listed(hostAddresses(), System.nanoTime()));
        } finally {
          LISTING.set(false);
        }
      });
    }
    return l.addresses();
  }

  private static Set<ByteBuffer> hostAddresses() {
    Set<ByteBuffer> out = new HashSet<>(); // made once, then only read: safe to share between threads
    try {
      for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress a : Collections.list(ni.getInetAddresses())) {
          out.add(ByteBuffer.wrap(a.getAddress()));
        }
      }
    } catch (SocketException e) {
      // Without the list, loopback and the wildcard addresses are still known to be this host.
    }
    return Set.copyOf(out);
  }

  /** Why the proxy must not connect to {@code address}:{@code port}, or null if it may. */
  public String refusal(InetAddress address, int port) {
    byte[] b = address.getAddress();
    if (b.length == 16 && isV4Mapped(b)) {
      b = java.util.Arrays.copyOfRange(b, 12, 16); // ::ffff:127.0.0.1 is 127.0.0.1 to the kernel
    }
    String own = ownPorts.get(port);
    if (own != null && isLocal(b)) {
      return where(address, port) + " is " + own + " of this node";
    }
    if (CidrMatcher.anyMatches(denied, b)) {
      return where(address, port) + " is in proxy.deniedDestinations";
    }
    return null;
  }

  private static String where(InetAddress a, int port) {
    String h = a.getHostAddress();
    return (h.indexOf(':') >= 0 ? "[" + h + "]" : h) + ":" + port;
  }

  private boolean isLocal(byte[] b) {
    if (b.length == 4 && (b[0] == 127 || (b[0] | b[1] | b[2] | b[3]) == 0)) {
      return true; // 127.0.0.0/8, 0.0.0.0
    }
    if (b.length == 16) {
      boolean zero = true;
      for (int i = 0; i < 15; i++) {
        zero &= b[i] == 0;
      }
      if (zero && (b[15] == 0 || b[15] == 1)) {
        return true; // ::, ::1
      }
    }
    return localAddresses().contains(ByteBuffer.wrap(b));
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
