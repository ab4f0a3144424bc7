package io.portcullis.daemon.config;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Where the files a config names may be: inside the config's directory (templates also in the packaged templates
 * directory, logs also in the node's log directory), after {@code ..} is taken out and symbolic links are followed.
 * A config that names a file elsewhere is refused (at --check, commit check and commit), so that whoever may commit
 * cannot make the node serve /etc/shadow as a block page or append to a file it should not touch.
 */
public final class ConfigFiles {
  /** Where the packages install the block-page templates. */
  public static final Path PACKAGED_TEMPLATES = Path.of("/usr/share/portcullis/templates");
  /** Where Debian's and Red Hat's clamd put their sockets (LocalSocket): /var/run is a link to /run on both. */
  public static final List<Path> CLAMAV_RUN = List.of(Path.of("/run/clamav"), Path.of("/var/run/clamav"),
      Path.of("/run/clamd.scan"));

  /** The daemon's own logs (FileLogging), which no config key may name: one holds the audit trail. */
  static final java.util.Set<String> DAEMON_LOGS = java.util.Set.of("portcullis.log", "events.log");
  private final Path configDir;
  private final Path logDir;

  /** Files resolve against {@code configDir}; {@code logDir} (null: none) may also hold logs the config names. */
  public ConfigFiles(Path configDir, Path logDir) {
    this.configDir = configDir.toAbsolutePath().normalize();
    this.logDir = logDir == null ? null : logDir.toAbsolutePath().normalize();
  }

  /** The rules of a daemon whose config is in {@code configDir}: its log directory is --log-dir, if given. */
  public static ConfigFiles of(Path configDir) {
    String logs = System.getProperty("portcullis.logDir");
    return new ConfigFiles(configDir, logs == null || logs.isEmpty() ? null : Path.of(logs));
  }

  /** Every file key of {@code c} whose value leaves the directories it may name, with its path. */
  public List<Problem> check(Config c) {
    List<Problem> problems = new ArrayList<>();
    visit(c, "", (name, kind, path) -> checkOne(name, kind, path, problems));
    return problems;
  }

  /** Throws with every problem of {@link #check}. */
  public Config checked(Config c) throws ConfigException {
    List<Problem> problems = check(c);
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return c;
  }

  /** Whether a record type holds a file key anywhere below it: the walk skips the rest (100 000 rules' conditions). */
  private static final ClassValue<Boolean> HOLDS_FILES = new ClassValue<>() {
    @Override
    protected Boolean computeValue(Class<?> type) {
      return holdsFiles(type, new java.util.HashSet<>());
    }
  };

  private static boolean holdsFiles(Class<?> type, java.util.Set<Class<?>> seen) {
    if (!type.isRecord() || !seen.add(type)) {
      return false;
    }
    for (RecordComponent rc : type.getRecordComponents()) {
      Class<?> t = rc.getType() == List.class
          ? (Class<?>) ((java.lang.reflect.ParameterizedType) rc.getGenericType()).getActualTypeArguments()[0]
          : rc.getType();
      if (rc.isAnnotationPresent(ConfigFile.class) || holdsFiles(t, seen)) {
        return true;
      }
    }
    return false;
  }

  /** Every file {@code c} names, resolved against the config's directory, with the key that names it. */
  public java.util.Map<Path, String> named(Config c) {
    java.util.Map<Path, String> out = new java.util.LinkedHashMap<>();
    visit(c, "", (name, kind, path) -> {
      try {
        out.putIfAbsent(configDir.resolve(name).normalize(), path);
      } catch (InvalidPathException e) {
        // not a file name: check() reports it
      }
    });
    return out;
  }

  /** What {@link #visit} calls for each file value: the value, its key's kind of file, the key's path. */
  private interface Each {
    void accept(String name, ConfigFile.Kind kind, String path);
  }

  /** Calls {@code each} with every non-empty file value below {@code value}. */
  private static void visit(Object value, String path, Each each) {
    if (value == null || !value.getClass().isRecord() || !HOLDS_FILES.get(value.getClass())) {
      return;
    }
    for (RecordComponent rc : RecordShape.of(value.getClass()).components()) {
      Object v;
      try {
        v = rc.getAccessor().invoke(value);
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
      String p = path.isEmpty() ? rc.getName() : path + "." + rc.getName();
      ConfigFile file = rc.getAnnotation(ConfigFile.class);
      if (v instanceof List<?> list) {
        for (int i = 0; i < list.size(); i++) {
          if (file != null && list.get(i) instanceof String s) {
            if (!s.isEmpty()) {
              each.accept(s, file.value(), p + "[" + i + "]");
            }
          } else {
            visit(list.get(i), p + "[" + i + "]", each);
          }
        }
      } else if (file != null && v instanceof String s) {
        if (!s.isEmpty()) {
          each.accept(s, file.value(), p);
        }
      } else {
        visit(v, p, each);
      }
    }
  }

  private void checkOne(String name, ConfigFile.Kind kind, String path, List<Problem> problems) {
    if (name.isEmpty()) {
      return; // an optional file left out ("" is how some keys say none)
    }
    Path file;
    try {
      file = configDir.resolve(name).normalize();
    } catch (InvalidPathException e) {
      problems.add(new Problem(path, "\"" + printable(name) + "\" is not a file name", 0, 0));
      return;
    }
    List<Path> roots = new ArrayList<>(List.of(configDir));
    if (kind == ConfigFile.Kind.TEMPLATE) {
      roots.add(PACKAGED_TEMPLATES);
    } else if (kind == ConfigFile.Kind.LOG && logDir != null) {
      roots.add(logDir);
    } else if (kind == ConfigFile.Kind.SOCKET) {
      roots.addAll(CLAMAV_RUN);
    }
    String where = switch (kind) {
      case READ -> "the config's directory " + configDir;
      case TEMPLATE -> "the config's directory " + configDir + " or " + PACKAGED_TEMPLATES;
      case LOG -> "the config's directory " + configDir + (logDir == null ? "" : " or the log directory " + logDir);
      case SOCKET -> "the config's directory " + configDir + " or " + CLAMAV_RUN.stream().map(Path::toString)
          .collect(java.util.stream.Collectors.joining(", "));
    };
    String base = file.getFileName() == null ? "" : file.getFileName().toString();
    if (kind == ConfigFile.Kind.LOG && (!base.endsWith(".log") || DAEMON_LOGS.contains(base))) {
      // An appended log must not land on the config file, a template, a list, or the daemon's own (audit) logs.
      problems.add(new Problem(path, "names " + file + ": a log's file name must end in .log and not be one of the "
          + "daemon's own logs " + DAEMON_LOGS, 0, 0));
      return;
    }
    if (kind == ConfigFile.Kind.TEMPLATE && !base.endsWith(".html") && !base.endsWith(".htm")) {
      // A block page is served to every user the rule blocks: it must not be the config, a key or a user list.
      problems.add(new Problem(path, "names " + file + ": a block-page template's name must end in .html or .htm",
          0, 0));
      return;
    }
    Path root = roots.stream().filter(file::startsWith).findFirst().orElse(null);
    if (root == null || file.equals(root)) {
      problems.add(new Problem(path, "names " + file + ", which is not inside " + where, 0, 0));
      return;
    }
    // The same with every symbolic link followed: a link inside the directory must not lead out of it.
    Path real = realPath(file);
    if (real == null) {
      problems.add(new Problem(path, "names " + file + ", whose real path cannot be found (a dangling link?)", 0, 0));
      return;
    }
    if (roots.stream().map(ConfigFiles::realPath).noneMatch(r -> r != null && real.startsWith(r) && !real.equals(r))) {
      problems.add(new Problem(path, "names " + file + ", a symbolic link to " + real + ", which is not inside "
          + where, 0, 0));
    }
  }

  /** {@code p} with every link followed; for a file that does not exist yet, its nearest existing parent's. */
  private static Path realPath(Path p) {
    Path existing = p;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return p;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(p)).normalize();
    } catch (IOException e) {
      return null; // a dangling link (which the node might create a file through) or no permission
    }
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints().forEach(c -> b.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", c) : Character.toString(c)));
    return b.toString();
  }
}
