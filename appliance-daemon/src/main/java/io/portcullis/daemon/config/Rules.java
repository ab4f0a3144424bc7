package io.portcullis.daemon.config;

/** Checks shared by the rule kinds. */
final class Rules {
  private Rules() {
  }

  static void checkName(String name, String path, Problems problems) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}")) {
      problems.add(path + ".name", '"' + name + "\" is not a rule name (letters, digits, space . _ -, at most 128)");
    }
  }
}
