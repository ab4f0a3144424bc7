package io.portcullis.daemon.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/**
 * Junos-style edits of a config's YAML: {@code set PATH VALUE}, {@code delete PATH}, {@code insert}. A path is the
 * keys from the top, as the config records name them; an item of a named list is addressed by its name (created by
 * {@code set} when absent): {@code set rules access no-casino when hosts "*.casino.test"}. A list of values takes
 * values (set adds them, delete removes them). Keys and enum values are checked against the records here; the whole
 * candidate is validated when it is committed. The text comes back as plain block YAML (comments do not survive).
 */
public final class ConfigEditor {
  // A Dump per call: its representer keeps state while it works, and one shared between threads (a cluster node's
  // apply, console sessions, the admin API) mixed their maps up. The settings are immutable.
  private static final DumpSettings DUMP = DumpSettings.builder()
      .setDefaultFlowStyle(FlowStyle.BLOCK).setIndent(2).setIndicatorIndent(2).setIndentWithIndicator(true).build();

  /** An edit that cannot be made: the message names the path and why. */
  public static final class EditException extends RuntimeException {
    public EditException(String message) {
      super(message);
    }
  }

  private ConfigEditor() {
  }

  /** {@code set WORDS...}: the YAML with the value set (a named item created, values added to a list). */
  public static String set(String yaml, List<String> words) {
    Map<String, Object> root = load(yaml);
    walk(root, words, true);
    return dump(root);
  }

  /** {@code delete WORDS...}: the YAML without the key, item or values named. */
  public static String delete(String yaml, List<String> words) {
    Map<String, Object> root = load(yaml);
    walk(root, words, false);
    return dump(root);
  }

  /**
   * {@code insert LIST-PATH ITEM before|after REF}: moves the named item {@code ITEM} of the list at {@code listPath}
   * just before or after the item {@code REF} (rules are evaluated in order).
   */
  public static String insert(String yaml, List<String> listPath, String item, boolean before, String ref) {
    Map<String, Object> root = load(yaml);
    Located at = locateList(root, listPath);
    List<Object> list = at.list();
    int from = indexOf(list, item);
    if (from < 0) {
      throw new EditException(String.join(" ", listPath) + ": no item named " + item);
    }
    Object moved = list.remove(from);
    int to = indexOf(list, ref);
    if (to < 0) {
      list.add(from, moved);
      throw new EditException(String.join(" ", listPath) + ": no item named " + ref);
    }
    list.add(before ? to : to + 1, moved);
    return dump(root);
  }

  /** The YAML as the editor writes it: so that a diff against an edited candidate shows only what was edited. */
  public static String normalize(String yaml) {
    try {
      return dump(load(yaml));
    } catch (RuntimeException e) {
      return yaml;
    }
  }

  /** The config as {@code set} commands, one per leaf value (Junos's {@code display set}). */
  public static List<String> displaySet(String yaml) {
    List<String> out = new ArrayList<>();
    display(load(yaml), Config.class, "set", out);
    return out;
  }

  /**
   * The part of a config a control node shares: {@code yaml} without the keys at {@code localPaths} (dotted paths of
   * maps, e.g. {@code proxy.listen}), which each node keeps from its own file.
   */
  public static String withoutLocal(String yaml, List<String> localPaths) {
    Map<String, Object> root = load(yaml);
    localPaths.forEach(p -> remove(root, p));
    return dump(root);
  }

  /** {@code shared} (a control node's config) with the keys at {@code localPaths} taken from {@code local} instead. */
  public static String withLocal(String shared, String local, List<String> localPaths) {
    Map<String, Object> root = load(shared);
    Map<String, Object> own = load(local);
    for (String p : localPaths) {
      remove(root, p);
      Object v = get(own, p);
      if (v != null) {
        put(root, p, v);
      }
    }
    return dump(root);
  }

  @SuppressWarnings("unchecked")
  private static Object get(Map<String, Object> root, String path) {
    Object at = root;
    for (String k : path.split("\\.")) {
      if (!(at instanceof Map<?, ?> m)) {
        return null;
      }
      at = m.get(k);
    }
    return at;
  }

  @SuppressWarnings("unchecked")
  private static void remove(Map<String, Object> root, String path) {
    String[] ks = path.split("\\.");
    Object at = root;
    for (int i = 0; i < ks.length - 1; i++) {
      if (!(at instanceof Map<?, ?> m)) {
        return;
      }
      at = m.get(ks[i]);
    }
    if (at instanceof Map<?, ?> m) {
      ((Map<String, Object>) m).remove(ks[ks.length - 1]);
    }
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> root, String path, Object value) {
    String[] ks = path.split("\\.");
    Map<String, Object> at = root;
    for (int i = 0; i < ks.length - 1; i++) {
      Object next = at.get(ks[i]);
      if (!(next instanceof Map<?, ?>)) {
        next = new LinkedHashMap<String, Object>();
        at.put(ks[i], next);
      }
      at = (Map<String, Object>) next;
    }
    at.put(ks[ks.length - 1], value);
  }

  // ---- walking ----

  private record Located(List<Object> list, Class<?> elem, String path) {
  }

  @SuppressWarnings("unchecked")
  private static void walk(Map<String, Object> root, List<String> words, boolean set) {
    if (words.isEmpty()) {
      throw new EditException((set ? "set" : "delete") + " needs a path");
    }
    Class<?> type = Config.class;
    Map<String, Object> node = root;
    String path = "";
    int i = 0;
    while (i < words.size()) {
      String w = words.get(i);
      RecordComponent c = component(type, w, path);
      path = path.isEmpty() ? w : path + " " + w;
      Class<?> t = c.getType();
      boolean last = i == words.size() - 1;
      if (ConfigBinder.isSection(t)) {
        if (last) {
          if (set) {
            throw new EditException(path + ": a section; give one of its keys: " + keys(t));
          }
          removeOrFail(node, w, path);
          return;
        }
        node = childMap(node, w, set, path);
        type = t;
        i++;
        continue;
      }
      if (t == List.class) {
        Class<?> elem = elementType(c);
        if (ConfigBinder.isSection(elem)) {
          if (last) {
            if (set) {
              throw new EditException(path + ": a list; give an item's name" + (ConfigBinder.hasName(elem) ? ""
                  : " (its number)"));
            }
            removeOrFail(node, w, path);
            return;
          }
          List<Object> list = (List<Object>) node.get(w);
          if (list == null) {
            if (!set) {
              throw new EditException(path + ": not set");
            }
            list = new ArrayList<>();
            node.put(w, list);
          }
          String key = words.get(i + 1);
          int at = ConfigBinder.hasName(elem) ? indexOf(list, key) : index(key, list.size(), path);
          path = path + " " + key;
          boolean itemLast = i + 1 == words.size() - 1;
          if (at < 0 || at == list.size()) {
            if (!set) {
              throw new EditException(path + ": no such item");
            }
            Map<String, Object> item = new LinkedHashMap<>();
            if (ConfigBinder.hasName(elem)) {
              item.put("name", key);
            }
            list.add(item);
            at = list.size() - 1;
          }
          if (itemLast) {
            if (!set) {
              list.remove(at);
              if (list.isEmpty()) {
                node.remove(w);
              }
            }
            return;
          }
          node = (Map<String, Object>) list.get(at);
          type = elem;
          i += 2;
          continue;
        }
        // A list of values: set adds the values given, delete removes them (or the whole list).
        List<String> values = words.subList(i + 1, words.size());
        List<Object> list = (List<Object>) node.get(w);
        if (set) {
          if (values.isEmpty()) {
            throw new EditException(path + ": give one or more values (" + typeName(elem) + ")");
          }
          if (list == null) {
            list = new ArrayList<>();
            node.put(w, list);
          }
          for (String v : values) {
            Object value = convert(elem, v, path);
            if (!list.contains(value)) {
              list.add(value);
            }
          }
        } else if (values.isEmpty()) {
          removeOrFail(node, w, path);
        } else {
          if (list == null) {
            throw new EditException(path + ": not set");
          }
          for (String v : values) {
            if (!list.remove(convert(elem, v, path))) {
              throw new EditException(path + ": has no value " + v);
            }
          }
        }
        return;
      }
      // A single value.
      if (set) {
        if (words.size() - i - 1 != 1) {
          throw new EditException(path + ": give exactly one value (" + typeName(t) + ")");
        }
        node.put(w, convert(t, words.get(i + 1), path));
      } else {
        if (!last) {
          throw new EditException(path + ": delete takes no value here");
        }
        removeOrFail(node, w, path);
      }
      return;
    }
  }

  @SuppressWarnings("unchecked")
  private static Located locateList(Map<String, Object> root, List<String> words) {
    Class<?> type = Config.class;
    Map<String, Object> node = root;
    String path = "";
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      RecordComponent c = component(type, w, path);
      path = path.isEmpty() ? w : path + " " + w;
      if (ConfigBinder.isSection(c.getType())) {
        node = childMap(node, w, false, path);
        type = c.getType();
        continue;
      }
      if (c.getType() == List.class && ConfigBinder.isSection(elementType(c))
          && ConfigBinder.hasName(elementType(c))) {
        List<Object> list = (List<Object>) node.get(w);
        if (list == null) {
          throw new EditException(path + ": not set");
        }
        if (i == words.size() - 1) {
          return new Located(list, elementType(c), path);
        }
        int at = indexOf(list, words.get(i + 1));
        if (at < 0) {
          throw new EditException(path + ": no item named " + words.get(i + 1));
        }
        node = (Map<String, Object>) list.get(at);
        type = elementType(c);
        i++;
        continue;
      }
      throw new EditException(path + ": not a list of named items");
    }
    throw new EditException("insert needs the path of a list of named items");
  }

  private static RecordComponent component(Class<?> type, String word, String path) {
    for (RecordComponent c : type.getRecordComponents()) {
      if (c.getName().equals(word)) {
        return c;
      }
    }
    throw new EditException((path.isEmpty() ? "" : path + ": ") + "no key \"" + word + "\" here; keys: " + keys(type));
  }

  static String keys(Class<?> type) {
    List<String> names = new ArrayList<>();
    for (RecordComponent c : type.getRecordComponents()) {
      names.add(c.getName());
    }
    return String.join(", ", names);
  }

  static Class<?> elementType(RecordComponent c) {
    return (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0];
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> childMap(Map<String, Object> node, String key, boolean create, String path) {
    Object child = node.get(key);
    if (child instanceof Map<?, ?> m) {
      return (Map<String, Object>) m;
    }
    if (!create) {
      throw new EditException(path + ": not set");
    }
    Map<String, Object> m = new LinkedHashMap<>();
    node.put(key, m);
    return m;
  }

  private static void removeOrFail(Map<String, Object> node, String key, String path) {
    if (node.remove(key) == null) {
      throw new EditException(path + ": not set");
    }
  }

  private static int indexOf(List<Object> list, String name) {
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i) instanceof Map<?, ?> m && name.equals(String.valueOf(m.get("name")))) {
        return i;
      }
    }
    return -1;
  }

  private static int index(String word, int size, String path) {
    try {
      int n = Integer.parseInt(word);
      if (n < 0 || n > size) {
        throw new EditException(path + ": item " + word + " does not exist (0 to " + size + ")");
      }
      return n;
    } catch (NumberFormatException e) {
      throw new EditException(path + ": items are numbered; \"" + word + "\" is not a number");
    }
  }

  /** The value as the YAML should hold it: numbers and booleans as such, enums checked, the rest as text. */
  private static Object convert(Class<?> type, String text, String path) {
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      try {
        return Long.parseLong(text);
      } catch (NumberFormatException e) {
        throw new EditException(path + ": \"" + text + "\" is not a whole number");
      }
    }
    if (type == boolean.class || type == Boolean.class) {
      if (!text.equals("true") && !text.equals("false")) {
        throw new EditException(path + ": \"" + text + "\" is not true or false");
      }
      return Boolean.parseBoolean(text);
    }
    if (type.isEnum()) {
      String lower = text.toLowerCase(Locale.ROOT);
      for (Object k : type.getEnumConstants()) {
        if (ConfigBinder.spelling((Enum<?>) k).equals(lower)) {
          return lower;
        }
      }
      throw new EditException(path + ": \"" + text + "\" is not one of " + ConfigBinder.enumNames(type));
    }
    return text;
  }

  private static String typeName(Class<?> t) {
    return t.isEnum() ? ConfigBinder.enumNames(t) : t.getSimpleName().toLowerCase(Locale.ROOT);
  }

  // ---- YAML in and out ----

  @SuppressWarnings("unchecked")
  private static Map<String, Object> load(String yaml) {
    Object o = new Load(LoadSettings.builder().build()).loadFromString(yaml == null ? "" : yaml);
    if (o == null) {
      return new LinkedHashMap<>();
    }
    if (!(o instanceof Map<?, ?>)) {
      throw new EditException("the config is not a mapping of keys");
    }
    return (Map<String, Object>) deepCopy(o);
  }

  /** Mutable copies all the way down (the loader's lists and maps may be shared or fixed). */
  private static Object deepCopy(Object o) {
    if (o instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put(String.valueOf(k), deepCopy(v)));
      return out;
    }
    if (o instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(v -> out.add(deepCopy(v)));
      return out;
    }
    return o;
  }

  private static String dump(Map<String, Object> root) {
    return root.isEmpty() ? "{}\n" : new Dump(DUMP).dumpToString(root);
  }

  // ---- display set ----

  @SuppressWarnings("unchecked")
  private static void display(Map<String, Object> node, Class<?> type, String prefix, List<String> out) {
    for (Map.Entry<String, Object> e : node.entrySet()) {
      RecordComponent c = null;
      for (RecordComponent rc : type == null ? new RecordComponent[0] : type.getRecordComponents()) {
        if (rc.getName().equals(e.getKey())) {
          c = rc;
        }
      }
      String here = prefix + " " + e.getKey();
      Object v = e.getValue();
      Class<?> t = c == null ? null : c.getType();
      if (v instanceof Map<?, ?> m) {
        display((Map<String, Object>) m, t != null && ConfigBinder.isSection(t) ? t : null, here, out);
      } else if (v instanceof List<?> list) {
        Class<?> elem = c != null && t == List.class ? elementType(c) : null;
        for (int i = 0; i < list.size(); i++) {
          Object item = list.get(i);
          if (item instanceof Map<?, ?> m) {
            Map<String, Object> rest = new LinkedHashMap<>((Map<String, Object>) m);
            Object name = rest.remove("name");
            String itemPath = here + " " + quote(name != null ? String.valueOf(name) : Integer.toString(i));
            if (rest.isEmpty()) {
              out.add(itemPath);
            } else {
              display(rest, elem, itemPath, out);
            }
          } else {
            out.add(here + " " + quote(String.valueOf(item)));
          }
        }
      } else {
        out.add(here + " " + quote(String.valueOf(v)));
      }
    }
  }

  /** A word as the console reads it back: quoted when it holds spaces, quotes or is empty. */
  static String quote(String s) {
    if (!s.isEmpty() && s.chars().allMatch(ch -> ch > 0x20 && ch != '"' && ch != '\'' && ch != '\\' && ch < 0x7f)) {
      return s;
    }
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
