package io.portcullis.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shape the code keeps: no main source file over 600 lines, and no cycle between the daemon's packages (a
 * package's {@code impl} counts as part of it, as vertx-http-proxy's does), so the root package wires and nothing
 * depends back on it.
 */
class LayoutTest {
  private static final Path MAIN = Path.of("src/main/java/io/portcullis/daemon");
  private static final Pattern REFERENCE = Pattern.compile("io\\.portcullis\\.daemon((?:\\.[a-z][a-z0-9]*)*)\\.[A-Z]");

  @Test
  void noMainSourceFileIsOver600Lines() throws IOException {
    List<String> long_ = new ArrayList<>();
    for (Path f : sources()) {
      long lines = Files.readAllLines(f).size();
      if (lines > 600) {
        long_.add(MAIN.relativize(f) + ": " + lines);
      }
    }
    assertEquals(List.of(), long_);
  }

  @Test
  void packagesFormNoCycle() throws IOException {
    Map<String, Set<String>> uses = new TreeMap<>();
    for (Path f : sources()) {
      String from = unit(MAIN.relativize(f.getParent()).toString().replace('/', '.'));
      Matcher m = REFERENCE.matcher(Files.readString(f));
      while (m.find()) {
        String to = unit(m.group(1).isEmpty() ? "" : m.group(1).substring(1));
        if (!to.equals(from)) {
          uses.computeIfAbsent(from, k -> new TreeSet<>()).add(to);
        }
      }
    }
    List<String> cycles = new ArrayList<>();
    for (String start : uses.keySet()) {
      List<String> path = cycleFrom(start, start, uses, new ArrayList<>(List.of(start)), new TreeSet<>());
      if (path != null && start.equals(path.stream().min(String::compareTo).orElseThrow())) {
        cycles.add(String.join(" -> ", path)); // each cycle once, from its least member
      }
    }
    assertEquals(List.of(), cycles);
  }

  /** A path from {@code at} back to {@code start}, or null. */
  private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> uses, List<String> path,
      Set<String> seen) {
    for (String next : uses.getOrDefault(at, Set.of())) {
      if (next.equals(start)) {
        List<String> found = new ArrayList<>(path);
        found.add(start);
        return found;
      }
      if (seen.add(next)) {
        path.add(next);
        List<String> found = cycleFrom(start, next, uses, path, seen);
        if (found != null) {
          return found;
        }
        path.remove(path.size() - 1);
      }
    }
    return null;
  }

  /** The package with its {@code impl} folded in; "(root)" for the root package. */
  private static String unit(String pkg) {
    String p = pkg.endsWith(".impl") ? pkg.substring(0, pkg.length() - 5) : pkg.equals("impl") ? "" : pkg;
    return p.isEmpty() ? "(root)" : p;
  }

  private static List<Path> sources() throws IOException {
    try (Stream<Path> s = Files.walk(MAIN)) {
      return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }
}
