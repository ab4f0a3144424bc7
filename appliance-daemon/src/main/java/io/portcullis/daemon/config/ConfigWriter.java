package io.portcullis.daemon.config;

import java.lang.reflect.RecordComponent;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;

/** Writes config records as YAML that {@link ConfigBinder} reads back to an equal record (every key, defaults included). */
final class ConfigWriter {
  // A Dump per call: its representer keeps state while it works, and one shared between threads (a cluster node's
  // apply, console sessions, the admin API) mixed their maps up. The settings are immutable.
  private static final DumpSettings DUMP = DumpSettings.builder()
      .setDefaultFlowStyle(FlowStyle.BLOCK).setIndent(2).setIndicatorIndent(2).setIndentWithIndicator(true).build();

  private ConfigWriter() {
  }

  static String write(Record config) {
    return new Dump(DUMP).dumpToString(toTree(config));
  }

  /** The record as plain maps, lists and strings/numbers/booleans, in component order. */
  static Object toTree(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof HostPort || value instanceof Cidr || value instanceof URI) {
      return value.toString();
    }
    if (value instanceof Record r) {
      Map<String, Object> map = new LinkedHashMap<>();
      for (RecordComponent c : RecordShape.of(r.getClass()).components()) {
        try {
          Object v = c.getAccessor().invoke(r);
          if (v != null) {
            map.put(c.getName(), toTree(v));
          }
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException(e);
        }
      }
      return map;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>();
      for (Object o : list) {
        out.add(toTree(o));
      }
      return out;
    }
    if (value instanceof Duration d) {
      return Durations.format(d);
    }
    if (value instanceof Enum<?> e) {
      return ConfigBinder.spelling(e);
    }
    return value;
  }
}
