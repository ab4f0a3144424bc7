package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.Conditions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Finds, among many rules, the few that could match a request, so that a decision never scans every rule. Each rule
 * is filed under its most selective condition — its exact hosts or domains (also taken from URL patterns such as
 * {@code http://host/*}), else its client networks, else, for URL patterns without a host ({@code *}{@code /ads/*},
 * {@code regex:/track[0-9]+}), a piece of text (3 to 8 characters) each of its patterns requires (see {@link UrlGrams})
 * — or, failing all those, in a list checked for every request. A lookup walks the candidates in rule order; the
 * first that fully matches wins.
 */
final class RuleIndex {
  private final Map<String, int[]> exact;
  private final Map<String, int[]> domains;
  private final Map<String, int[]> networks; // IPv6: "prefix/hex of the masked address"
  private final Map<Long, int[]> v4Networks; // IPv4: prefix << 32 | masked address
  private final int[] v4Prefixes;
  private final int[] v6Prefixes;
  private final int[] always;
  private final UrlGrams grams;

  RuleIndex(List<Conditions> rules) {
    Map<String, List<Integer>> ex = new HashMap<>();
    Map<String, List<Integer>> dom = new HashMap<>();
    Map<String, List<Integer>> net = new HashMap<>();
    Map<Long, List<Integer>> net4 = new HashMap<>();
    TreeSet<Integer> v4 = new TreeSet<>();
    TreeSet<Integer> v6 = new TreeSet<>();
    List<Integer> rest = new ArrayList<>();
    UrlGrams.Builder grams = new UrlGrams.Builder();
    for (int i = 0; i < rules.size(); i++) {
      Conditions c = rules.get(i);
      List<HostPattern> hosts = hostKeys(c);
      if (hosts != null) {
        for (HostPattern h : hosts) {
          if (h.exact() != null) {
            ex.computeIfAbsent(h.exact(), k -> new ArrayList<>()).add(i);
          } else {
            dom.computeIfAbsent(h.domain(), k -> new ArrayList<>()).add(i);
          }
        }
      } else if (!c.clients().isEmpty()) {
        for (var cidr : c.clients()) {
          CidrMatcher m = new CidrMatcher(cidr);
          if (m.network().length == 4) {
            v4.add(m.prefix());
            net4.computeIfAbsent(key4(m.network(), m.prefix()), k -> new ArrayList<>()).add(i);
          } else {
            v6.add(m.prefix());
            net.computeIfAbsent(key(m.network(), m.prefix()), k -> new ArrayList<>()).add(i);
          }
        }
      } else if (!grams.add(i, c.urls())) {
        rest.add(i);
      }
    }
    this.grams = grams.build();
    this.exact = freeze(ex);
    this.domains = freeze(dom);
    this.networks = freeze(net);
    Map<Long, int[]> n4 = new HashMap<>(net4.size() * 2);
    net4.forEach((k, v) -> n4.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
    this.v4Networks = n4;
    this.v4Prefixes = v4.stream().mapToInt(Integer::intValue).toArray();
    this.v6Prefixes = v6.stream().mapToInt(Integer::intValue).toArray();
    this.always = rest.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The exact hosts and domains a rule can only match, or null if it is not bound to hosts. */
  private static List<HostPattern> hostKeys(Conditions c) {
    List<HostPattern> out = new ArrayList<>();
    if (!c.hosts().isEmpty()) {
      for (String h : c.hosts()) {
        HostPattern p = HostPattern.of(h);
        if (p.exact() == null && p.domain() == null) {
          return null;
        }
        out.add(p);
      }
      return out;
    }
    if (c.urls().isEmpty()) {
      return null;
    }
    for (String u : c.urls()) {
      String host = urlHost(u);
      if (host == null) {
        return null;
      }
      HostPattern p = HostPattern.of(host);
      if (p.exact() == null && p.domain() == null) {
        return null;
      }
      out.add(p);
    }
    return out;
  }

  /** The host part of a URL glob ({@code http://a.test/*}, {@code *://*.a.test/x}), or null if it has none. */
  static String urlHost(String glob) {
    if (glob.startsWith("regex:")) {
      return null;
    }
    int scheme = glob.indexOf("://");
    if (scheme < 0 || !glob.substring(0, scheme).matches("[a-zA-Z*]+")) {
      return null;
    }
    String rest = glob.substring(scheme + 3);
    int end = rest.length();
    for (int i = 0; i < rest.length(); i++) {
      char ch = rest.charAt(i);
      if (ch == '/' || ch == ':') { // not '?': in a glob it matches one character, maybe of the host
        end = i;
        break;
      }
    }
    String host = rest.substring(0, end);
    if (end == rest.length() || host.isEmpty() || host.equals("*")) {
      return null; // "http://a.test*" could go on into the host: not a host bound
    }
    if (host.indexOf('*', host.startsWith("*.") ? 2 : 0) >= 0 || host.indexOf('?') >= 0 || host.startsWith("[")
        || host.indexOf('@') >= 0) {
      return null; // wildcards inside, an IPv6 literal (its ':' are not a port) or user info: no plain host bound
    }
    return host;
  }

  private static long key4(byte[] a, int prefix) {
    long addr = ((a[0] & 0xffL) << 24) | ((a[1] & 0xffL) << 16) | ((a[2] & 0xffL) << 8) | (a[3] & 0xffL);
    long mask = prefix == 0 ? 0 : (0xffffffffL << (32 - prefix)) & 0xffffffffL;
    return ((long) prefix << 32) | (addr & mask);
  }

  private static String key(byte[] address, int prefix) {
    StringBuilder sb = new StringBuilder(40).append(prefix).append('/');
    int full = prefix / 8;
    for (int i = 0; i < address.length; i++) {
      int b = address[i] & 0xff;
      if (i == full) {
        b &= (0xff << (8 - prefix % 8)) & 0xff;
      } else if (i > full) {
        b = 0;
      }
      sb.append(Character.forDigit(b >> 4, 16)).append(Character.forDigit(b & 15, 16));
    }
    return sb.toString();
  }

  private static Map<String, int[]> freeze(Map<String, List<Integer>> m) {
    Map<String, int[]> out = new HashMap<>(m.size() * 2);
    m.forEach((k, v) -> out.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
    return out;
  }

  /** How many rules are checked for every request (none of their conditions could be indexed). */
  int unindexed() {
    return always.length;
  }

  /** Postings that may hold a match for {@code f}, each sorted: walk them in merged order. */
  List<int[]> candidates(Facts f) {
    List<int[]> lists = new ArrayList<>(6);
    if (always.length > 0) {
      lists.add(always);
    }
    if (!grams.isEmpty()) {
      grams.candidates(f.url, lists);
    }
    String host = f.host;
    if (!exact.isEmpty()) {
      int[] e = exact.get(host);
      if (e != null) {
        lists.add(e);
      }
    }
    if (!domains.isEmpty()) {
      int from = 0;
      while (from >= 0 && from < host.length()) {
        int[] d = domains.get(from == 0 ? host : host.substring(from));
        if (d != null) {
          lists.add(d);
        }
        int dot = host.indexOf('.', from);
        from = dot < 0 ? -1 : dot + 1;
      }
    }
    if (!networks.isEmpty() || !v4Networks.isEmpty()) {
      byte[] a = f.clientAddress();
      if (a != null && a.length == 4) {
        for (int p : v4Prefixes) {
          int[] n = v4Networks.get(key4(a, p));
          if (n != null) {
            lists.add(n);
          }
        }
      } else if (a != null) {
        for (int p : v6Prefixes) {
          int[] n = networks.get(key(a, p));
          if (n != null) {
            lists.add(n);
          }
        }
      }
    }
    return lists;
  }
}
