package io.portcullis.daemon.http1;

import io.vertx.core.MultiMap;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Hop-by-hop header fields (RFC 9110 7.6.1): those that belong to one connection and must not be forwarded, plus
 * whatever a Connection header names. Which fields count depends on what the forwarder re-does itself, hence the
 * named sets: {@link #PROXY} re-frames every message and answers proxy authentication itself, so framing and
 * Proxy-Auth* fields are its own; the balancer's relay ({@link #RELAY_REQUEST}, {@link #RELAY_RESPONSE}) passes
 * bodies on as framed and fronts proxies that authenticate, so only connection management is its own (and, in
 * requests, TE and Upgrade: it relays HTTP/1 only).
 */
public final class HopByHop implements Predicate<String> {
  /** For a proxy that re-frames each message and authenticates its users (the forward proxy). */
  public static final HopByHop PROXY = new HopByHop("connection", "keep-alive", "proxy-connection", "te", "trailer",
      "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate");
  /** For requests relayed as framed to servers that may be proxies (the balancer). */
  public static final HopByHop RELAY_REQUEST = new HopByHop("connection", "keep-alive", "proxy-connection", "te",
      "upgrade");
  /** For responses relayed as framed (the balancer). */
  public static final HopByHop RELAY_RESPONSE = new HopByHop("connection", "keep-alive", "proxy-connection");

  private final Set<String> names;
  // The names by length: a test compares a name with the one or two of its length, without allocating.
  private final String[][] byLength;

  private HopByHop(String... lowerNames) {
    this.names = Set.of(lowerNames);
    int max = Arrays.stream(lowerNames).mapToInt(String::length).max().orElse(0);
    this.byLength = new String[max + 1][];
    for (int len = 0; len <= max; len++) {
      int l = len;
      byLength[len] = Arrays.stream(lowerNames).filter(n -> n.length() == l).toArray(String[]::new);
    }
  }

  /** True if {@code name} is hop-by-hop in the forward proxy's set ({@link #PROXY}). */
  public static boolean hopByHop(String name) {
    return PROXY.test(name);
  }

  /** Copies {@code from} into {@code to} less the forward proxy's hop-by-hop fields and those Connection names. */
  public static void copyHeaders(MultiMap from, MultiMap to) {
    PROXY.copy(from, to);
  }

  /** The set's field names, in lower case. */
  public Set<String> names() {
    return names;
  }

  /** True if {@code name} is in this set, in any case. */
  @Override
  public boolean test(String name) {
    if (name.length() >= byLength.length) {
      return false;
    }
    for (String n : byLength[name.length()]) {
      if (n.equalsIgnoreCase(name)) {
        return true;
      }
    }
    return false;
  }

  /** True if the field name b[from, to) is in this set, in any case. */
  public boolean test(byte[] b, int from, int to) {
    if (to - from >= byLength.length) {
      return false;
    }
    for (String n : byLength[to - from]) {
      if (Chars.is(b, from, to, n)) {
        return true;
      }
    }
    return false;
  }

  /** Copies the fields of {@code from} into {@code to} less this set's and those a Connection field names. */
  public void copy(MultiMap from, MultiMap to) {
    Set<String> named = null;
    for (String c : from.getAll("Connection")) {
      for (int k = TokenList.itemStart(c, 0); k < c.length(); k = TokenList.itemStart(c, k)) {
        int comma = TokenList.comma(c, k);
        if (named == null) {
          named = new HashSet<>();
        }
        named.add(c.substring(k, TokenList.trimEnd(c, k, comma)).toLowerCase(Locale.ROOT));
        k = comma;
      }
    }
    for (Map.Entry<String, String> e : from) {
      String n = e.getKey();
      if (!test(n) && (named == null || !named.contains(n.toLowerCase(Locale.ROOT)))) {
        to.add(n, e.getValue());
      }
    }
  }
}
