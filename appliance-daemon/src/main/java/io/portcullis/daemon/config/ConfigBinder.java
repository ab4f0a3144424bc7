package io.portcullis.daemon.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Reads a YAML node tree into the config records, keeping on after a problem so that one pass reports them all.
 * The records are the schema: a component is a key; its type says how to read it; annotations give defaults,
 * optional keys and references. Not thread-safe: one binder per document.
 */
final class ConfigBinder {
  /** Marks a value that could not be read; its problem is already recorded. */
  private static final Object INVALID = new Object();

  private final Problems problems = new Problems();
  /** Names of the items of each list of named records, by the list's path with indices removed. */
  private final Map<String, Set<String>> names = new HashMap<>();
  private final List<PendingRef> refs = new ArrayList<>();

  private record PendingRef(String path, String name, String target) {
  }

  /** Binds the document to {@code type}, or throws with every problem found. */
  <T extends Record> T bind(Class<T> type, Node root) throws ConfigException {
    Object value = bindRecord(type, root, "");
    for (PendingRef ref : refs) {
      Set<String> known = names.getOrDefault(ref.target(), Set.of());
      if (!known.contains(ref.name())) {
        problems.add(ref.path(), '"' + ref.name() + "\" names no item of " + ref.target()
            + (known.isEmpty() ? " (it is empty)" : " (known: " + String.join(", ", known) + ")"));
      }
    }
    if (!problems.isEmpty() || value == INVALID) {
      throw new ConfigException(problems.list());
    }
    return type.cast(value);
  }

  private void mark(String path, Node node) {
    if (node != null) {
      node.getStartMark().ifPresent(m -> problems.position(path, m.getLine() + 1, m.getColumn() + 1));
    }
  }

  private static boolean isNull(Node node) {
    return node == null || (node instanceof ScalarNode s && s.getTag().equals(Tag.NULL));
  }

  private Object bindRecord(Class<?> type, Node node, String path) {
    Map<String, Node> values = new LinkedHashMap<>();
    if (!isNull(node)) {
      if (!(node instanceof MappingNode map)) {
        problems.add(path, "must be a mapping of keys (" + describe(node) + " found)");
        return INVALID;
      }
      Set<String> known = RecordShape.of(type).names();
      for (NodeTuple t : map.getValue()) {
        if (!(t.getKeyNode() instanceof ScalarNode k)) {
          mark(path, t.getKeyNode());
          problems.add(path, "has a key that is not a plain string");
          continue;
        }
        String key = k.getValue();
        String keyPath = path.isEmpty() ? key : path + "." + key;
        mark(keyPath, t.getKeyNode());
        if (values.containsKey(key)) {
          problems.add(keyPath, "is given twice");
        } else if (!known.contains(key)) {
          problems.add(keyPath, "is not a known key" + suggestion(key, known));
        } else {
          values.put(key, t.getValueNode());
        }
      }
    }
    RecordShape shape = RecordShape.of(type);
    RecordComponent[] components = shape.components();
    Object[] args = new Object[components.length];
    boolean ok = true;
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      String childPath = path.isEmpty() ? c.getName() : path + "." + c.getName();
      Object v = bindComponent(c, values.get(c.getName()), childPath);
      args[i] = v;
      ok &= v != INVALID;
    }
    if (!ok) {
      return INVALID;
    }
    try {
      Object record = shape.constructor().newInstance(args);
      if (record instanceof Validatable v) {
        int before = problems.list().size();
        v.validate(path, problems);
        if (problems.list().size() > before) {
          return INVALID;
        }
      }
      return record;
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("config record " + type.getName() + " cannot be built", e);
    }
  }

  private Object bindComponent(RecordComponent c, Node node, String path) {
    Class<?> type = c.getType();
    if (isNull(node)) {
      Default def = c.getAnnotation(Default.class);
      if (def != null && type == List.class) {
        Class<?> elem = (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0];
        List<Object> items = new ArrayList<>();
        for (String part : def.value().split(",")) {
          items.add(scalar(elem, new ScalarNode(Tag.STR, part.strip(),
              org.snakeyaml.engine.v2.common.ScalarStyle.PLAIN), path));
        }
        return List.copyOf(items);
      }
      if (def != null) {
        return scalar(type, new ScalarNode(Tag.STR, def.value(), org.snakeyaml.engine.v2.common.ScalarStyle.PLAIN), path);
      }
      if (c.isAnnotationPresent(OptionalKey.class)) {
        return null;
      }
      if (type == List.class) {
        return List.of();
      }
      if (isSection(type)) {
        return bindRecord(type, null, path);
      }
      problems.add(path, "is required" + (type.isEnum() ? " (one of " + enumNames(type) + ")" : ""));
      return INVALID;
    }
    mark(path, node);
    if (type == List.class) {
      Type elem = ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0];
      Object list = bindList((Class<?>) elem, node, path);
      Ref ref = c.getAnnotation(Ref.class);
      if (ref != null && list instanceof List<?> l) {
        for (int i = 0; i < l.size(); i++) {
          refs.add(new PendingRef(path + "[" + i + "]", String.valueOf(l.get(i)), ref.value()));
        }
      }
      return list;
    }
    if (isSection(type)) {
      return bindRecord(type, node, path);
    }
    return scalar(type, node, path);
  }

  private Object bindList(Class<?> elem, Node node, String path) {
    if (!(node instanceof SequenceNode seq)) {
      problems.add(path, "must be a list (" + describe(node) + " found)");
      return INVALID;
    }
    List<Object> out = new ArrayList<>();
    boolean ok = true;
    Map<String, String> seen = new HashMap<>();
    String namesKey = path.replaceAll("\\[\\d+]", "");
    Set<String> listNames = names.computeIfAbsent(namesKey, k -> new LinkedHashSet<>());
    List<Node> items = seq.getValue();
    for (int i = 0; i < items.size(); i++) {
      String itemPath = path + "[" + i + "]";
      Node item = items.get(i);
      mark(itemPath, item);
      Object v = isSection(elem) ? bindRecord(elem, item, itemPath) : scalar(elem, item, itemPath);
      if (v == INVALID) {
        ok = false;
        continue;
      }
      if (v instanceof Record r && hasName(elem)) {
        String name = nameOf(r);
        String first = seen.putIfAbsent(name, itemPath);
        if (first != null) {
          problems.add(itemPath + ".name", "duplicate name \"" + name + "\" (first at " + first + ")");
          ok = false;
        }
        listNames.add(name);
      }
      out.add(v);
    }
    return ok ? List.copyOf(out) : INVALID;
  }

  /** Records are mappings of keys, except the value types written as one string. */
  static boolean isSection(Class<?> type) {
    return type.isRecord() && type != HostPort.class && type != Cidr.class;
  }

  static boolean hasName(Class<?> type) {
    for (RecordComponent c : RecordShape.of(type).components()) {
      if (c.getName().equals("name") && c.getType() == String.class) {
        return true;
      }
    }
    return false;
  }

  private static String nameOf(Record r) {
    try {
      for (RecordComponent c : RecordShape.of(r.getClass()).components()) {
        if (c.getName().equals("name")) {
          return (String) c.getAccessor().invoke(r);
        }
      }
      throw new IllegalStateException(r.getClass().getName() + " has no name");
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  private Object scalar(Class<?> type, Node node, String path) {
    if (!(node instanceof ScalarNode s)) {
      problems.add(path, "must be a single value (" + describe(node) + " found)");
      return INVALID;
    }
    String text = s.getValue();
    String shown = '"' + text + '"';
    try {
      if (type == String.class) {
        return text;
      }
      if (type == boolean.class || type == Boolean.class) {
        if (text.equals("true") || text.equals("false")) {
          return Boolean.parseBoolean(text);
        }
        throw new IllegalArgumentException("is not true or false");
      }
      if (type == int.class || type == Integer.class) {
        try {
          return Integer.parseInt(text);
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("is not an integer");
        }
      }
      if (type == long.class || type == Long.class) {
        return ByteSizes.parse(text);
      }
      if (type == Duration.class) {
        return Durations.parse(text);
      }
      if (type == HostPort.class) {
        return HostPort.parse(text);
      }
      if (type == Cidr.class) {
        return Cidr.parse(text);
      }
      if (type == URI.class) {
        try {
          return new URI(text);
        } catch (URISyntaxException e) {
          throw new IllegalArgumentException("is not a URL (" + e.getReason() + ")");
        }
      }
      if (type.isEnum()) {
        for (Object constant : type.getEnumConstants()) {
          if (spelling((Enum<?>) constant).equals(text)) {
            return constant;
          }
        }
        throw new IllegalArgumentException("is not one of " + enumNames(type));
      }
    } catch (IllegalArgumentException e) {
      problems.add(path, shown + " " + e.getMessage());
      return INVALID;
    }
    throw new IllegalStateException("no reader for config type " + type.getName() + " at " + path);
  }

  static String enumNames(Class<?> type) {
    List<String> out = new ArrayList<>();
    for (Object constant : type.getEnumConstants()) {
      out.add(spelling((Enum<?>) constant));
    }
    return String.join(", ", out);
  }

  /** How a config value is written: lower case, words joined by '-' (READ_ONLY is read-only). */
  public static String spelling(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  private static String describe(Node node) {
    if (node instanceof MappingNode) {
      return "a mapping";
    }
    if (node instanceof SequenceNode) {
      return "a list";
    }
    return "\"" + ((ScalarNode) node).getValue() + "\"";
  }

  private static String suggestion(String key, Set<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String k : known) {
      int d = distance(key.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
      if (d < bestDistance) {
        bestDistance = d;
        best = k;
      }
    }
    return best == null ? " (known: " + String.join(", ", known) + ")" : " (did you mean \"" + best + "\"?)";
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

}
