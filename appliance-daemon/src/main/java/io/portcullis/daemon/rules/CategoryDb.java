package io.portcullis.daemon.rules;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * URL categories: entries are domains ({@code casino.test}: it and its subdomains) or URL prefixes
 * ({@code news.test/sport}), one per line, {@code #} comments. Stored as 64-bit hashes in an open-addressing table
 * (at most half full: ~32 bytes an entry, so a million entries take ~32 MB) and each probe of a lookup is one memory
 * access, whatever the size. At most 64 categories.
 */
public final class CategoryDb {
  public static final CategoryDb EMPTY = new CategoryDb(List.of(), new long[0], new long[0], false);
  private final List<String> names;
  private final long[] hashes; // open addressing, 0 = empty slot
  private final long[] masks;  // masks[i]: the categories of hashes[i]
  private final int entries;
  private final boolean hasPaths; // any URL-prefix entry: else a lookup never hashes the path

  private CategoryDb(List<String> names, long[] sortedHashes, long[] sortedMasks, boolean hasPaths) {
    this.names = names;
    this.hasPaths = hasPaths;
    this.entries = sortedHashes.length;
    int cap = Integer.highestOneBit(Math.max(2, sortedHashes.length) * 2 - 1) << 1;
    this.hashes = new long[cap];
    this.masks = new long[cap];
    for (int i = 0; i < sortedHashes.length; i++) {
      long h = sortedHashes[i] | 64; // never 0: 0 marks an empty slot (bit 6 is masked off every stored hash)
      int slot = (int) (h ^ (h >>> 32)) & (cap - 1);
      while (hashes[slot] != 0) {
        slot = (slot + 1) & (cap - 1);
      }
      hashes[slot] = h;
      masks[slot] = sortedMasks[i];
    }
  }

  /** Loads categories {@code names[i]} from {@code files[i]}; throws naming the file that cannot be read. */
  public static CategoryDb load(List<String> names, List<Path> files) throws IOException {
    if (names.size() > 64) {
      throw new IllegalArgumentException("at most 64 categories, not " + names.size());
    }
    long[] keys = new long[1 << 16];
    int n = 0;
    boolean paths = false;
    for (int c = 0; c < names.size(); c++) {
      try (BufferedReader r = Files.newBufferedReader(files.get(c), StandardCharsets.UTF_8)) {
        String line;
        while ((line = r.readLine()) != null) {
          String e = normalize(line);
          if (e == null) {
            continue;
          }
          paths |= e.indexOf('/') >= 0;
          if (n + 1 >= keys.length) {
            keys = Arrays.copyOf(keys, keys.length * 2);
          }
          // Pack (hash, category) so one sort orders both; the low 6 bits carry the category.
          keys[n++] = (hash(e, 0, e.length()) & ~127L) | c;
        }
      }
    }
    Arrays.sort(keys, 0, n);
    long[] hashes = new long[n];
    long[] masks = new long[n];
    int m = 0;
    for (int i = 0; i < n; i++) {
      long h = keys[i] & ~127L;
      long bit = 1L << (keys[i] & 63);
      if (m > 0 && hashes[m - 1] == h) {
        masks[m - 1] |= bit;
      } else {
        hashes[m] = h;
        masks[m] = bit;
        m++;
      }
    }
    return new CategoryDb(List.copyOf(names), Arrays.copyOf(hashes, m), Arrays.copyOf(masks, m), paths);
  }

  public int entries() {
    return entries;
  }

  public List<String> names() {
    return names;
  }

  /** The index of category {@code name}, or -1. */
  public int index(String name) {
    return names.indexOf(name);
  }

  /** The categories (bit i = names[i]) of a URL's host (lower case) and path: the host, its parents, path prefixes. */
  public long lookup(String host, String path) {
    if (entries == 0 || host.isEmpty()) {
      return 0;
    }
    long mask = 0;
    // host and every parent domain: a.b.c, b.c, c
    int from = 0;
    while (from >= 0 && from < host.length()) {
      mask |= find(hash(host, from, host.length()));
      int dot = host.indexOf('.', from);
      from = dot < 0 ? -1 : dot + 1;
    }
    if (hasPaths && path != null && path.length() > 1) {
      // host/p1, host/p1/p2, …: prefixes at each '/', query cut off
      String full = host + cut(path);
      int slash = host.length();
      while (true) {
        int next = full.indexOf('/', slash + 1);
        int end = next < 0 ? full.length() : next;
        if (end > slash + 1) {
          mask |= find(hash(full, 0, end));
        }
        if (next < 0) {
          break;
        }
        slash = next;
      }
    }
    return mask;
  }

  private static String cut(String path) {
    int q = path.indexOf('?');
    int h = path.indexOf('#');
    int end = path.length();
    if (q >= 0) {
      end = q;
    }
    if (h >= 0 && h < end) {
      end = h;
    }
    String p = path.substring(0, end);
    return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  private long find(long hash) {
    long h = (hash & ~127L) | 64;
    int mask = hashes.length - 1;
    int slot = (int) (h ^ (h >>> 32)) & mask;
    while (true) {
      long k = hashes[slot];
      if (k == h) {
        return masks[slot];
      }
      if (k == 0) {
        return 0;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** An entry as stored: lower case, no scheme, no trailing slash; null for comments and blanks. */
  static String normalize(String line) {
    String s = line.strip();
    int hash = s.indexOf('#');
    if (hash >= 0) {
      s = s.substring(0, hash).strip();
    }
    if (s.isEmpty()) {
      return null;
    }
    s = s.toLowerCase(Locale.ROOT);
    int scheme = s.indexOf("://");
    if (scheme >= 0) {
      s = s.substring(scheme + 3);
    }
    if (s.startsWith("*.")) {
      s = s.substring(2);
    }
    if (s.startsWith(".")) {
      s = s.substring(1);
    }
    while (s.endsWith("/")) {
      s = s.substring(0, s.length() - 1);
    }
    int slash = s.indexOf('/');
    String host = slash < 0 ? s : s.substring(0, slash);
    int colon = host.indexOf(':');
    if (colon >= 0) {
      s = host.substring(0, colon) + (slash < 0 ? "" : s.substring(slash));
    }
    return s.isEmpty() ? null : s;
  }

  /** 64-bit FNV-1a with a final mix over chars [from, to). */
  static long hash(String s, int from, int to) {
    long h = 0xcbf29ce484222325L;
    for (int i = from; i < to; i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
