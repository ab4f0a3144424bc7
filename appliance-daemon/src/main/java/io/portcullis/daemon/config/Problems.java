package io.portcullis.daemon.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Collects problems while a config is read, and knows where each path sits in the YAML text. */
public final class Problems {
  private final List<Problem> list = new ArrayList<>();
  private final Map<String, int[]> positions = new HashMap<>();

  void position(String path, int line, int column) {
    positions.put(path, new int[] {line, column}); // a value's position, marked after its key's, wins
  }

  /** Records a problem at {@code path}; its position is that of the path, or of its nearest parent found in the text. */
  public void add(String path, String message) {
    String p = path;
    int[] pos = null;
    while (pos == null && p != null) {
      pos = positions.get(p);
      p = parent(p);
    }
    list.add(new Problem(path, message, pos == null ? 0 : pos[0], pos == null ? 0 : pos[1]));
  }

  /** Records "{@code value} is not between {@code min} and {@code max}" at {@code path} when it is not. */
  public void between(String path, long value, long min, long max) {
    if (value < min || value > max) {
      add(path, value + " is not between " + min + " and " + max);
    }
  }

  static String parent(String path) {
    if (path.isEmpty()) {
      return null;
    }
    int dot = path.lastIndexOf('.');
    int bracket = path.lastIndexOf('[');
    int cut = Math.max(dot, bracket);
    return cut < 0 ? "" : path.substring(0, cut);
  }

  public boolean isEmpty() {
    return list.isEmpty();
  }

  public List<Problem> list() {
    return List.copyOf(list);
  }
}
