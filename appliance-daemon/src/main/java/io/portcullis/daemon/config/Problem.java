package io.portcullis.daemon.config;

/** One thing wrong with a config: the key's path (e.g. {@code proxy.listen}), what is wrong, and where (1-based; 0 if unknown). */
public record Problem(String path, String message, int line, int column) {

  @Override
  public String toString() {
    String where = line > 0 ? " (line " + line + ", column " + column + ")" : "";
    return (path.isEmpty() ? "(document)" : path) + ": " + message + where;
  }
}
