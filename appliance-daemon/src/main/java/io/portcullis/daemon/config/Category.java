package io.portcullis.daemon.config;

/** A named list of domains and URLs, one per line in a file, that rules refer to by name. */
public record Category(
    @Doc("the category's name, as rules refer to it") String name,
    @Doc("the file of entries (relative to the config's directory)") @ConfigFile String file) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
      problems.add(path + ".name", '"' + name + "\" is not a name (letters, digits, . _ -)");
    }
    if (file.isBlank()) {
      problems.add(path + ".file", "is empty");
    }
  }
}
