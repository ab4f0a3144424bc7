package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.Conditions;
import java.time.ZoneId;
import java.util.List;
import java.util.function.Function;

/** One ordered list of rules (bypass, access or protection) compiled for first-match lookups. Immutable. */
final class RuleSet<R> {
  private final List<R> rules;
  private final Matcher[] matchers;
  private final RuleIndex index;
  private final CategoryDb categories;

  RuleSet(List<R> rules, Function<R, Conditions> when, CategoryDb categories, ZoneId zone) {
    this.rules = rules;
    this.categories = categories;
    this.matchers = new Matcher[rules.size()];
    for (int i = 0; i < rules.size(); i++) {
      matchers[i] = new Matcher(when.apply(rules.get(i)), categories, zone);
    }
    this.index = new RuleIndex(rules.stream().map(when).toList());
  }

  int size() {
    return rules.size();
  }

  /**
   * The index of the first rule that matches {@code f}, or -1. Before the response is known, a rule with response conditions
   * cannot be judged and is passed over.
   */
  int first(Facts f) {
    if (matchers.length == 0) {
      return -1;
    }
    List<int[]> lists = index.candidates(f);
    int k = lists.size();
    if (k == 1) {
      for (int i : lists.get(0)) {
        if (test(i, f)) {
          return i;
        }
      }
      return -1;
    }
    int[] pos = new int[k];
    while (true) {
      int best = -1;
      int bestValue = Integer.MAX_VALUE;
      for (int j = 0; j < k; j++) {
        int[] l = lists.get(j);
        if (pos[j] < l.length && l[pos[j]] < bestValue) {
          bestValue = l[pos[j]];
          best = j;
        }
      }
      if (best < 0) {
        return -1;
      }
      for (int j = 0; j < k; j++) { // a rule filed under several keys is tried once
        int[] l = lists.get(j);
        if (pos[j] < l.length && l[pos[j]] == bestValue) {
          pos[j]++;
        }
      }
      if (test(bestValue, f)) {
        return bestValue;
      }
    }
  }

  private boolean test(int i, Facts f) {
    Matcher m = matchers[i];
    if (m.needsResponse && !f.response) {
      return false;
    }
    return m.matches(f, categories);
  }

  R rule(int i) {
    return rules.get(i);
  }

  /** The first category of the request that rule {@code i}'s condition names, else the request's first category. */
  String category(int i, Facts f) {
    long mask = f.categories(categories);
    long wanted = i >= 0 ? matchers[i].categoryMask : 0;
    long pick = (mask & wanted) != 0 ? mask & wanted : mask;
    if (pick == 0) {
      return null;
    }
    return categories.names().get(Long.numberOfTrailingZeros(pick));
  }
}
