package io.portcullis.daemon.balancer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * Power of two choices (HAProxy's {@code random(2)}): two servers drawn at random by weight, the one with fewer active
 * connections for its weight wins. Nearly as even as leastconn, without a shared order.
 */
final class RandomTwo implements Method {
  private final List<Server> group;

  RandomTwo(List<Server> group) {
    this.group = group;
  }

  @Override
  public Server pick(Predicate<Server> ok, int client) {
    List<Server> eligible = new ArrayList<>(group.size());
    long total = 0;
    for (Server s : group) {
      if (ok.test(s)) {
        eligible.add(s);
        total += s.weight();
      }
    }
    if (eligible.isEmpty()) {
      return null;
    }
    Server a = draw(eligible, total);
    Server b = draw(eligible, total);
    return b.stats().active() * a.weight() < a.stats().active() * b.weight() ? b : a;
  }

  private static Server draw(List<Server> eligible, long total) {
    long r = ThreadLocalRandom.current().nextLong(total);
    for (Server s : eligible) {
      r -= s.weight();
      if (r < 0) {
        return s;
      }
    }
    return eligible.get(eligible.size() - 1);
  }
}
