package io.portcullis.daemon.config;

import java.lang.reflect.RecordComponent;
import java.util.List;

/**
 * docs/configuration.md, made from the schema: every key with its type, default and help ({@link Doc}), whether it is
 * a secret or names a file. The one source of the configuration reference; a test fails when the file is stale.
 */
public final class ConfigReference {
  private ConfigReference() {
  }

  /** The whole page, as Markdown. */
  public static String markdown() {
    StringBuilder b = new StringBuilder();
    b.append("# Configuration reference\n\n")
        .append("<!-- Generated from the config schema (appliance-daemon/src/main/java/io/portcullis/daemon/config) by "
            + "ConfigReference; do not edit: change the @Doc, then run ConfigReferenceTest with "
            + "-Dportcullis.docs.write=true. -->\n\n")
        .append("One YAML document (`portcullis.yaml`); every key may be left out and then has its default. ")
        .append("Durations are written `500ms`, `30s`, `10m`, `1h`, `7d`; sizes may use `KiB`, `MiB`, `GiB`. ")
        .append("A list of records is addressed in the console by its items' names ")
        .append("(`set rules access NAME action block`). Validation reports every problem at once, each with its ")
        .append("path and line (`portcullisd --check`, `commit check`).\n\n")
        .append("Marks: **secret**: shown as `\"## SECRET-DATA\"` everywhere but the revision files; **file**: names a ")
        .append("file inside the config's directory (see [security](security.md)).\n");
    List<ConfigSchema.Key> keys = ConfigSchema.keys();
    for (RecordComponent section : Config.class.getRecordComponents()) {
      Doc doc = section.getAnnotation(Doc.class);
      b.append("\n## `").append(section.getName()).append("`\n\n");
      if (doc != null) {
        b.append(capital(doc.value())).append(".\n\n");
      }
      b.append("| key | type | default | meaning |\n|---|---|---|---|\n");
      for (ConfigSchema.Key k : keys) {
        if (!k.path().equals(section.getName()) && !k.path().startsWith(section.getName() + ".")
            && !k.path().startsWith(section.getName() + "[")) {
          continue;
        }
        String marks = (k.secret() ? " **secret**" : "") + (k.file() == null ? "" : " **file**"
            + (k.file() == ConfigFile.Kind.TEMPLATE ? " (`.html`; or in /usr/share/portcullis/templates)"
            : k.file() == ConfigFile.Kind.LOG ? " (`.log`; or in the log directory)"
            : k.file() == ConfigFile.Kind.SOCKET ? " (or in /run/clamav, /var/run/clamav, /run/clamd.scan)" : ""));
        b.append("| `").append(k.path()).append("` | ").append(cell(k.type())).append(" | ")
            .append(k.defaultValue() != null ? "`" + shown(k) + "`" : k.optional() ? "(none)"
                : k.type().startsWith("list of") ? "`[]`" : "(required)")
            .append(" | ").append(cell(k.doc())).append(marks).append(" |\n");
      }
    }
    return b.toString();
  }

  private static String shown(ConfigSchema.Key k) {
    String d = k.defaultValue();
    return k.type().startsWith("list of") ? "[" + d + "]" : d.isEmpty() ? "\"\"" : d;
  }

  private static String cell(String s) {
    return s.replace("|", "\\|").replace("\n", " ");
  }

  private static String capital(String s) {
    return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
  }
}
