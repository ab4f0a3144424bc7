package io.portcullis.daemon.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the Prometheus text of the cluster's nodes into the control node's own: each node's samples gain a
 * {@code node="NAME"} label and join the family of the same name, so one scrape of the control node covers the
 * cluster and sums by node come out right (the control node's own samples keep their labels).
 */
final class PrometheusText {
  private PrometheusText() {
  }

  /** One metric family: its HELP and TYPE lines, then its samples. */
  private static final class Family {
    final List<String> head = new ArrayList<>();
    final List<String> samples = new ArrayList<>();
  }

  /** {@code local} with each node's samples added under the same families, labelled with the node's name. */
  static String merge(String local, Map<String, String> nodes) {
    Map<String, Family> families = new LinkedHashMap<>();
    parse(local, null, families);
    nodes.forEach((name, text) -> {
      Map<String, Family> mine = new LinkedHashMap<>();
      try {
        parse(text, name, mine);
      } catch (RuntimeException e) {
        return; // one node's bad text must not spoil the cluster's scrape: it is left out whole
      }
      mine.forEach((fam, f) -> {
        Family into = families.computeIfAbsent(fam, k -> new Family());
        for (String h : f.head) {
          if (into.head.stream().noneMatch(x -> x.startsWith(h.substring(0, 7)))) {
            into.head.add(h);
          }
        }
        into.samples.addAll(f.samples);
      });
    });
    StringBuilder out = new StringBuilder(local.length() * (1 + nodes.size()));
    for (Family f : families.values()) {
      f.head.forEach(l -> out.append(l).append('\n'));
      f.samples.forEach(l -> out.append(l).append('\n'));
    }
    return out.toString();
  }

  private static void parse(String text, String node, Map<String, Family> families) {
    Family current = null;
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        String[] parts = line.split(" ", 4);
        if (parts.length < 3) {
          continue;
        }
        Family f = families.computeIfAbsent(parts[2], k -> new Family());
        String kind = line.substring(0, 7);
        if (f.head.stream().noneMatch(h -> h.startsWith(kind))) {
          f.head.add(line); // the first node to say it (the control node's own, if it has the family)
        }
        current = f;
        continue;
      }
      if (line.startsWith("#")) {
        continue;
      }
      if (current == null) {
        // A sample without a family header: a family of its own, by the sample's name.
        String name = line.split("[{ ]", 2)[0];
        current = families.computeIfAbsent(name, k -> new Family());
      }
      if (node == null) {
        current.samples.add(line);
      } else if (valid(line)) {
        current.samples.add(label(line, node)); // an invalid line, or one that names a node already, is dropped
      }
    }
  }

  /**
   * True for a sample line of the text format ({@code name{l="v",…} value [timestamp]}) without a {@code node}
   * label of its own: what can take one without making the scrape invalid.
   */
  static boolean valid(String line) {
    int i = 0;
    int n = line.length();
    while (i < n && (Character.isLetterOrDigit(line.charAt(i)) || line.charAt(i) == '_' || line.charAt(i) == ':')) {
      i++;
    }
    if (i == 0 || Character.isDigit(line.charAt(0))) {
      return false;
    }
    if (i < n && line.charAt(i) == '{') {
      i++;
      while (i < n && line.charAt(i) != '}') {
        int start = i;
        while (i < n && (Character.isLetterOrDigit(line.charAt(i)) || line.charAt(i) == '_')) {
          i++;
        }
        if (i == start || i + 1 >= n || line.charAt(i) != '=' || line.charAt(i + 1) != '"'
            || line.substring(start, i).equals("node")) {
          return false;
        }
        i += 2;
        while (i < n && line.charAt(i) != '"') {
          i += line.charAt(i) == '\\' ? 2 : 1;
        }
        if (i >= n) {
          return false;
        }
        i++;
        if (i < n && line.charAt(i) == ',') {
          i++;
        }
      }
      if (i >= n) {
        return false;
      }
      i++;
    }
    if (i >= n || line.charAt(i) != ' ') {
      return false;
    }
    String[] rest = line.substring(i + 1).split(" ");
    if (rest.length < 1 || rest.length > 2) {
      return false;
    }
    try {
      if (!rest[0].matches("[+-]?(Inf|NaN)")) {
        Double.parseDouble(rest[0]);
      }
      if (rest.length == 2) {
        Long.parseLong(rest[1]);
      }
    } catch (NumberFormatException e) {
      return false;
    }
    return true;
  }

  /** The sample line with {@code node="NAME"} as its first label. */
  static String label(String sample, String node) {
    int brace = sample.indexOf('{');
    int space = sample.indexOf(' ');
    String l = "node=\"" + node.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    if (brace >= 0 && (space < 0 || brace < space)) {
      boolean empty = sample.charAt(brace + 1) == '}';
      return sample.substring(0, brace + 1) + l + (empty ? "" : ",") + sample.substring(brace + 1);
    }
    return space < 0 ? sample : sample.substring(0, space) + "{" + l + "}" + sample.substring(space);
  }
}
