package io.portcullis.daemon.rules;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rules whose URL patterns have no host, filed by a piece of text (3 to 8 characters) that every match of the pattern
 * contains, taken from a glob's literal runs or a regex's required runs ({@link RegexLiterals}): a request is
 * checked only against the rules filed under a piece its URL contains. Each pattern takes the longest pieces its runs
 * allow (up to 8 characters), and among those the one fewest patterns share, avoiding those every URL has
 * ({@code http}, {@code ://}). Pieces are looked up by a rolling hash per length: a collision only adds a candidate,
 * which the full match then rejects. Case is folded on both sides the way
 * {@link String#regionMatches(boolean, int, String, int, int)} compares, so the index never misses a match the
 * pattern would make; only ASCII pieces are used. Immutable once built; a lookup allocates nothing but the list it
 * fills.
 */
final class UrlGrams {
  /** The piece lengths used: a run of 5 gives pieces of 4, a run of 20 pieces of 8. */
  private static final int[] LENGTHS = {3, 4, 6, 8};
  private static final long P = 0x100000001B3L; // FNV prime: odd, so the rolling hash loses no bits
  private static final Set<String> EVERYWHERE = Set.of("htt", "ttp", "tp:", "tps", "ps:", "p:/", "s:/", "://",
      "http", "ttp:", "tp:/", "p://", "ttps", "tps:", "ps:/", "s://", "www", "www.", "ww.", ".com", "com/");
  private static final UrlGrams EMPTY = new UrlGrams(new Table[0]);

  /**
   * One open-addressing table per piece length in use, with a bit filter (8 bits per key, small enough to stay in
   * cache) that turns away most windows of a URL before the table, which is large and cold, is read.
   */
  private record Table(int length, long power, long[] keys, int[][] postings, int mask, long[] filter,
      int filterMask) {
  }

  private final Table[] tables;

  private UrlGrams(Table[] tables) {
    this.tables = tables;
  }

  boolean isEmpty() {
    return tables.length == 0;
  }

  /** Adds to {@code lists} the postings of every piece in {@code url} (a posting may come twice: harmless). */
  void candidates(String url, List<int[]> lists) {
    int n = url.length();
    for (Table t : tables) {
      int len = t.length;
      if (n < len) {
        continue;
      }
      long[] keys = t.keys;
      long[] filter = t.filter;
      int mask = t.mask;
      int filterMask = t.filterMask;
      long power = t.power;
      long h = 0;
      for (int i = 0; i < len; i++) {
        h = h * P + fold(url.charAt(i));
      }
      for (int i = len; ; i++) {
        long key = h | 1; // 0 marks a free slot
        int bit = filterBit(key) & filterMask;
        if ((filter[bit >>> 6] & (1L << bit)) != 0) {
          for (int slot = spread(key) & mask; keys[slot] != 0; slot = (slot + 1) & mask) {
            if (keys[slot] == key) {
              lists.add(t.postings[slot]);
              break;
            }
          }
        }
        if (i == n) {
          break;
        }
        h = (h - fold(url.charAt(i - len)) * power) * P + fold(url.charAt(i));
      }
    }
  }

  /** Case folded as regionMatches(ignoreCase) compares: the lower case of the upper case. */
  static char fold(char c) {
    if (c < 128) {
      return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }
    return Character.toLowerCase(Character.toUpperCase(c));
  }

  private static long hash(String piece) {
    long h = 0;
    for (int i = 0; i < piece.length(); i++) {
      h = h * P + piece.charAt(i);
    }
    return h | 1;
  }

  /** A second mix for the filter: the slot's bits would only repeat what the table tells. */
  private static int filterBit(long key) {
    return (int) ((key * 0xC2B2AE3D27D4EB4FL) >>> 37);
  }

  private static int spread(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }

  /** Collects the rules, then picks each pattern's piece once all are known (fewest sharers first). */
  static final class Builder {
    private final List<Integer> rules = new ArrayList<>();
    private final List<List<Set<String>>> choices = new ArrayList<>(); // per rule, per pattern: its pieces
    private final Map<String, Integer> frequency = new HashMap<>();

    /** Files rule {@code i} by its URL patterns; false if some pattern (or none) gives no piece. */
    boolean add(int i, List<String> urls) {
      if (urls.isEmpty()) {
        return false;
      }
      List<Set<String>> perPattern = new ArrayList<>(urls.size());
      for (String u : urls) {
        Set<String> pieces = pieces(runs(u));
        if (pieces.isEmpty()) {
          return false;
        }
        perPattern.add(pieces);
      }
      rules.add(i);
      choices.add(perPattern);
      for (Set<String> pieces : perPattern) {
        for (String g : pieces) {
          frequency.merge(g, 1, Integer::sum);
        }
      }
      return true;
    }

    /** The ASCII pieces of the longest length the runs allow (so the most selective a pattern can give). */
    private static Set<String> pieces(List<String> runs) {
      int longest = 0;
      for (String run : runs) {
        longest = Math.max(longest, run.length());
      }
      Set<String> out = new HashSet<>();
      for (int k = LENGTHS.length - 1; k >= 0 && out.isEmpty(); k--) {
        int len = LENGTHS[k];
        if (len > longest) {
          continue;
        }
        for (String run : runs) {
          for (int s = 0; s + len <= run.length(); s++) {
            String g = run.substring(s, s + len);
            if (g.chars().allMatch(ch -> ch < 128)) {
              out.add(g);
            }
          }
        }
      }
      return out;
    }

    /** The folded literal runs every match of URL pattern {@code u} contains. */
    static List<String> runs(String u) {
      List<String> raw = new ArrayList<>();
      if (u.startsWith("regex:")) {
        raw.addAll(RegexLiterals.required(u.substring(6)));
      } else {
        for (String part : u.split("[*?]")) {
          raw.add(part);
        }
      }
      List<String> out = new ArrayList<>(raw.size());
      for (String r : raw) {
        StringBuilder sb = new StringBuilder(r.length());
        for (int k = 0; k < r.length(); k++) {
          sb.append(fold(r.charAt(k)));
        }
        out.add(sb.toString());
      }
      return out;
    }

    UrlGrams build() {
      if (rules.isEmpty()) {
        return EMPTY;
      }
      Map<Integer, Map<String, List<Integer>>> byLength = new HashMap<>();
      for (int r = 0; r < rules.size(); r++) {
        for (Set<String> pieces : choices.get(r)) {
          String best = null;
          long bestScore = Long.MAX_VALUE;
          for (String g : pieces) {
            long score = frequency.get(g) + (EVERYWHERE.contains(g) ? 1L << 40 : 0);
            if (score < bestScore || (score == bestScore && g.compareTo(best) < 0)) {
              best = g;
              bestScore = score;
            }
          }
          List<Integer> list = byLength.computeIfAbsent(best.length(), k -> new HashMap<>())
              .computeIfAbsent(best, k -> new ArrayList<>());
          if (list.isEmpty() || list.get(list.size() - 1) != (int) rules.get(r)) {
            list.add(rules.get(r)); // rules come in order: each list stays sorted
          }
        }
      }
      List<Table> tables = new ArrayList<>();
      for (int len : LENGTHS) {
        Map<String, List<Integer>> filed = byLength.get(len);
        if (filed == null) {
          continue;
        }
        // Pieces that collide on the hash share one posting list, merged in rule order.
        Map<Long, java.util.TreeSet<Integer>> merged = new HashMap<>();
        filed.forEach((g, list) -> merged.computeIfAbsent(hash(g), k -> new java.util.TreeSet<>()).addAll(list));
        int capacity = Integer.highestOneBit(Math.max(4, merged.size() * 2 - 1)) << 1;
        long[] keys = new long[capacity];
        int[][] postings = new int[capacity][];
        int mask = capacity - 1;
        for (var e : merged.entrySet()) {
          int slot = spread(e.getKey()) & mask;
          while (keys[slot] != 0) {
            slot = (slot + 1) & mask;
          }
          keys[slot] = e.getKey();
          postings[slot] = e.getValue().stream().mapToInt(Integer::intValue).toArray();
        }
        int filterBits = Math.max(64, Integer.highestOneBit(merged.size() * 8 - 1) << 1);
        long[] filter = new long[filterBits / 64];
        for (long key : merged.keySet()) {
          int bit = filterBit(key) & (filterBits - 1);
          filter[bit >>> 6] |= 1L << bit;
        }
        long power = 1;
        for (int k = 1; k < len; k++) {
          power *= P;
        }
        tables.add(new Table(len, power, keys, postings, mask, filter, filterBits - 1));
      }
      return new UrlGrams(tables.toArray(new Table[0]));
    }
  }
}
