package io.portcullis.daemon.balancer;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/** The server with the fewest active connections for its weight; ties go round, so idle servers share the load. */
final class LeastConn implements Method {
  private final List<Server> group;
  private final AtomicInteger start = new AtomicInteger();

  LeastConn(List<Server> group) {
    this.group = group;
  }

  @Override
  public Server pick(Predicate<Server> ok, int client) {
    int n = group.size();
    if (n == 0) {
      return null;
    }
    int from = Math.floorMod(start.getAndIncrement(), n);
    Server best = null;
    long bestActive = 0;
    for (int k = 0; k < n; k++) {
      Server s = group.get((from + k) % n);
      if (!ok.test(s)) {
        continue;
      }
      long active = s.stats().active();
      // active/weight < bestActive/bestWeight, without division
      if (best == null || active * best.weight() < bestActive * s.weight()) {
        best = s;
        bestActive = active;
      }
    }
    return best;
  }
}
