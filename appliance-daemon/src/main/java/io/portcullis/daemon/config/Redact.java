package io.portcullis.daemon.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;

/**
 * Config text and edit commands with the values of {@link Secret} keys replaced by {@link #PLACEHOLDER}, for every
 * place that shows config to a person (show, compare, revisions, the audit log). The text keeps its layout and
 * comments; only the secret scalars change. The revision files on disk are never redacted.
 */
public final class Redact {
  /** What a secret value is shown as (Junos shows {@code ## SECRET-DATA}); quoted, so the YAML still parses. */
  public static final String PLACEHOLDER = "## SECRET-DATA";
  private static final String QUOTED = "\"" + PLACEHOLDER + "\"";

  /** The names of the secret keys anywhere in the schema (password, passwordHash, secret, joinKey). */
  static final Set<String> NAMES = secretNames();

  /** A secret key, "name:", found where the text does not parse. */
  private static final Pattern FALLBACK_KEY = Pattern.compile(
      "(?:^|[\\s{,\"'])(?:" + String.join("|", NAMES) + ")[\"']?\\s*:");

  private Redact() {
  }

  /** One secret value in a text: its key's path, its value, and where it is (code points). */
  private record Found(String path, String value, int start, int end) {
  }

  /** {@code yaml} with every secret value replaced; text that is not YAML is redacted by key name. */
  public static String yaml(String yaml) {
    List<Found> found = find(yaml);
    return found == null ? fallback(yaml) : replace(yaml, found, java.util.Map.of());
  }

  /**
   * Both texts redacted for a diff: a secret that differs from (or is not in) {@code from} shows in {@code to} as
   * {@code ## SECRET-DATA (changed)}, so that the diff tells a secret changed without telling what it is.
   */
  public static String[] pair(String from, String to) {
    List<Found> a = find(from);
    List<Found> b = find(to);
    if (a == null || b == null) {
      return new String[] {a == null ? fallback(from) : replace(from, a, java.util.Map.of()),
          b == null ? fallback(to) : replace(to, b, java.util.Map.of())};
    }
    java.util.Map<String, String> before = new java.util.HashMap<>();
    a.forEach(f -> before.put(f.path(), f.value()));
    java.util.Map<String, String> changed = new java.util.HashMap<>();
    for (Found f : b) {
      if (!f.value().equals(before.get(f.path()))) {
        changed.put(f.path(), "\"" + PLACEHOLDER + " (changed)\"");
      }
    }
    return new String[] {replace(from, a, java.util.Map.of()), replace(to, b, changed)};
  }

  /**
   * Text that is not YAML: the value after each secret key is hidden, and so is every following line indented deeper
   * than the key's line (a value on the next line, a block scalar). It may hide more than the secret; never less.
   */
  private static String fallback(String yaml) {
    StringBuilder out = new StringBuilder(yaml.length());
    int hiddenIndent = -1;
    for (String line : yaml.split("(?<=\n)", -1)) {
      int indent = 0;
      while (indent < line.length() && (line.charAt(indent) == ' ' || line.charAt(indent) == '\t')) {
        indent++;
      }
      boolean blank = line.isBlank();
      if (hiddenIndent >= 0 && (blank || indent > hiddenIndent)) {
        out.append(blank ? line : line.substring(0, indent) + "# " + PLACEHOLDER + (line.endsWith("\n") ? "\n" : ""));
        continue;
      }
      hiddenIndent = -1;
      Matcher m = FALLBACK_KEY.matcher(line);
      if (m.find()) {
        out.append(line, 0, m.end()).append(' ').append(QUOTED).append(line.endsWith("\n") ? "\n" : "");
        hiddenIndent = indent;
      } else {
        out.append(line);
      }
    }
    return out.toString();
  }

  /** The secrets of {@code yaml}; null if it is not YAML. */
  private static List<Found> find(String yaml) {
    List<Found> found = new ArrayList<>();
    if (yaml == null || yaml.isEmpty()) {
      return found;
    }
    try {
      LoadSettings settings = LoadSettings.builder().setUseMarks(true).setAllowDuplicateKeys(true)
          .setMaxAliasesForCollections(50).setCodePointLimit(64 * 1024 * 1024).build();
      Optional<Node> root = new Compose(settings).composeString(yaml);
      if (root.isPresent()) {
        collect(root.get(), Config.class, "", found);
      }
      return found;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static String replace(String yaml, List<Found> found, java.util.Map<String, String> shown) {
    List<Found> ranges = new ArrayList<>(found);
    ranges.sort(Comparator.comparingInt(Found::start).reversed());
    StringBuilder b = new StringBuilder(yaml);
    int last = Integer.MAX_VALUE;
    for (Found r : ranges) {
      int start = yaml.offsetByCodePoints(0, r.start());
      int end = yaml.offsetByCodePoints(0, r.end());
      while (end > start && (yaml.charAt(end - 1) == '\n' || yaml.charAt(end - 1) == '\r')) {
        end--; // a block scalar's range takes its line end: keep the line
      }
      if (end > last) {
        continue; // an alias's node, already replaced at its anchor
      }
      b.replace(start, end, shown.getOrDefault(r.path(), QUOTED));
      last = start;
    }
    return b.toString();
  }

  /** Edit-command words ({@code set console users ann passwordHash VALUE}) with the words after a secret key hidden. */
  public static List<String> words(List<String> words) {
    List<String> out = new ArrayList<>(words);
    for (int i = 0; i < out.size() - 1; i++) {
      if (NAMES.contains(out.get(i))) {
        for (int j = i + 1; j < out.size(); j++) {
          out.set(j, PLACEHOLDER);
        }
        break;
      }
    }
    return out;
  }

  private static void collect(Node node, Class<?> type, String path, List<Found> found) {
    if (!(node instanceof MappingNode map) || !type.isRecord()) {
      return;
    }
    for (NodeTuple t : map.getValue()) {
      if (!(t.getKeyNode() instanceof ScalarNode key)) {
        continue;
      }
      RecordComponent c = component(type, key.getValue());
      if (c == null) {
        continue;
      }
      Node value = t.getValueNode();
      String p = path + "." + c.getName();
      if (c.isAnnotationPresent(Secret.class)) {
        if (value instanceof ScalarNode s && s.getStartMark().isPresent() && s.getEndMark().isPresent()) {
          found.add(new Found(p, s.getValue(), index(s.getStartMark().get()), index(s.getEndMark().get())));
        }
        continue;
      }
      if (c.getType() == List.class && value instanceof SequenceNode seq) {
        Class<?> elem = (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0];
        for (int i = 0; i < seq.getValue().size(); i++) {
          Node item = seq.getValue().get(i);
          collect(item, elem, p + "[" + itemName(item, i) + "]", found);
        }
      } else {
        collect(value, c.getType(), p, found);
      }
    }
  }

  /** A list item's name if it has one (users are matched by name across revisions), else its position. */
  private static String itemName(Node item, int i) {
    if (item instanceof MappingNode m) {
      for (NodeTuple t : m.getValue()) {
        if (t.getKeyNode() instanceof ScalarNode k && k.getValue().equals("name")
            && t.getValueNode() instanceof ScalarNode v) {
          return v.getValue();
        }
      }
    }
    return Integer.toString(i);
  }

  private static int index(Mark m) {
    return m.getIndex();
  }

  private static RecordComponent component(Class<?> type, String name) {
    for (RecordComponent c : RecordShape.of(type).components()) {
      if (c.getName().equals(name)) {
        return c;
      }
    }
    return null;
  }

  private static Set<String> secretNames() {
    Set<String> names = new TreeSet<>();
    gather(Config.class, names, new java.util.HashSet<>());
    return java.util.Collections.unmodifiableSet(names);
  }

  private static void gather(Class<?> type, Set<String> names, Set<Class<?>> seen) {
    if (!type.isRecord() || !seen.add(type)) {
      return;
    }
    for (RecordComponent c : type.getRecordComponents()) {
      if (c.isAnnotationPresent(Secret.class)) {
        names.add(c.getName());
      } else if (c.getType() == List.class) {
        gather((Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0], names, seen);
      } else {
        gather(c.getType(), names, seen);
      }
    }
  }
}
