package io.portcullis.daemon.balancer;

import java.util.List;
import java.util.function.Predicate;

/**
 * Smooth weighted round robin (nginx's): each pick adds every eligible server's weight to its running score and takes
 * the highest, which then gives back the eligible total. Weights 5,1,1 give a a b a c a a, not a a a a a b c.
 */
final class RoundRobin implements Method {
  private final List<Server> group;
  private final long[] score;

  RoundRobin(List<Server> group) {
    this.group = group;
    this.score = new long[group.size()];
  }

  @Override
  public synchronized Server pick(Predicate<Server> ok, int client) {
    int best = -1;
    long total = 0;
    for (int i = 0; i < group.size(); i++) {
      Server s = group.get(i);
      if (!ok.test(s)) {
        continue;
      }
      int w = s.weight();
      score[i] += w;
      total += w;
      if (best < 0 || score[i] > score[best]) {
        best = i;
      }
    }
    if (best < 0) {
      return null;
    }
    score[best] -= total;
    return group.get(best);
  }
}
