package io.portcullis.daemon.config;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;

/** The config's keys as a flat list, read from the records: what the console completes and docs/configuration.md lists. */
public final class ConfigSchema {

  /** One key: its path ({@code rules.access[].action}), its type's name, its default (or null) and its help. */
  public record Key(String path, String type, String defaultValue, boolean optional, String doc, boolean secret,
      ConfigFile.Kind file) {
  }

  private ConfigSchema() {
  }

  /** Every leaf key of {@link Config}, in declaration order; items of lists of records appear under {@code name[]}. */
  public static List<Key> keys() {
    List<Key> out = new ArrayList<>();
    walk(Config.class, "", out, new java.util.HashSet<>());
    return out;
  }

  private static void walk(Class<?> type, String prefix, List<Key> out, java.util.Set<Class<?>> above) {
    if (!above.add(type)) {
      // A record inside itself (Conditions.unless): listed once, as a key of the same shape.
      out.add(new Key(prefix, "list of " + type.getSimpleName(), null, false, "same keys as its parent", false, null));
      return;
    }
    for (RecordComponent c : type.getRecordComponents()) {
      String path = prefix.isEmpty() ? c.getName() : prefix + "." + c.getName();
      Class<?> t = c.getType();
      if (ConfigBinder.isSection(t)) {
        walk(t, path, out, new java.util.HashSet<>(above));
        continue;
      }
      if (t == List.class) {
        Class<?> elem = (Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0];
        if (ConfigBinder.isSection(elem)) {
          walk(elem, path + "[]", out, new java.util.HashSet<>(above));
          continue;
        }
      }
      Default d = c.getAnnotation(Default.class);
      Doc doc = c.getAnnotation(Doc.class);
      String typeName = t == List.class
          ? "list of " + ((Class<?>) ((ParameterizedType) c.getGenericType()).getActualTypeArguments()[0]).getSimpleName()
          : t.isEnum() ? ConfigBinder.enumNames(t) : t.getSimpleName();
      ConfigFile file = c.getAnnotation(ConfigFile.class);
      out.add(new Key(path, typeName, d == null ? null : d.value(), c.isAnnotationPresent(OptionalKey.class),
          doc == null ? "" : doc.value(), c.isAnnotationPresent(Secret.class), file == null ? null : file.value()));
    }
  }
}
