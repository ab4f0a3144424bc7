package io.portcullis.daemon.balancer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * Consistent hash of the client's address (HAProxy's {@code balance source} with {@code hash-type consistent}): a ring
 * of points, {@value #POINTS} per unit of weight, placed by each server's name. A client goes to the first eligible
 * server clockwise from its hash, so it stays on one server while that server is up, and when a server goes down
 * only its clients move.
 */
final class SourceHash implements Method {
  static final int POINTS = 64;
  private final List<Server> group;
  private final long[] ring; // point hash << 32 | server index, sorted

  SourceHash(List<Server> group) {
    this.group = group;
    int total = 0;
    for (Server s : group) {
      total += s.weight() * POINTS;
    }
    long[] points = new long[total];
    int k = 0;
    for (int i = 0; i < group.size(); i++) {
      Server s = group.get(i);
      for (int p = 0; p < s.weight() * POINTS; p++) {
        int h = mix(fnv(s.name() + "#" + p));
        points[k++] = ((long) h << 32) | i;
      }
    }
    Arrays.sort(points);
    this.ring = points;
  }

  @Override
  public Server pick(Predicate<Server> ok, int client) {
    if (ring.length == 0) {
      return null;
    }
    long key = (long) mix(client) << 32;
    int at = Arrays.binarySearch(ring, key);
    at = at < 0 ? -at - 1 : at;
    boolean[] tried = new boolean[group.size()];
    int left = group.size();
    for (int k = 0; k < ring.length && left > 0; k++) {
      int i = (int) ring[(at + k) % ring.length];
      if (tried[i]) {
        continue;
      }
      tried[i] = true;
      left--;
      Server s = group.get(i);
      if (ok.test(s)) {
        return s;
      }
    }
    return null;
  }

  /** A client address's hash for {@link #pick}. */
  static int hash(String address) {
    return fnv(address);
  }

  private static int fnv(String s) {
    int h = 0x811c9dc5;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x01000193;
    }
    return h;
  }

  /** Murmur3's finalizer: spreads nearby inputs (10.0.0.1, 10.0.0.2) far apart on the ring. */
  private static int mix(int h) {
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}
