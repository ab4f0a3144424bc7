package io.portcullis.daemon.config;

import java.util.List;
import java.util.stream.Collectors;

/** A config that cannot be used, with every problem found in it (not only the first). */
public final class ConfigException extends Exception {
  private final List<Problem> problems;

  public ConfigException(List<Problem> problems) {
    super(problems.size() + " problem(s) in config:\n  "
        + problems.stream().map(Problem::toString).collect(Collectors.joining("\n  ")));
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }
}
