package io.portcullis.daemon.config;

import java.net.URI;

/** One access rule: when its conditions hold, its action decides the request. */
public record AccessRule(
    @Doc("the rule's name, unique among access rules") String name,
    @Doc("conditions that must all hold (an empty when matches everything)") Conditions when,
    @Doc("allow, block or redirect") Action action,
    @Doc("where redirect sends the user (http or https URL)") @OptionalKey URI location) implements Validatable {

  /** What an access rule does with a request it matches. */
  public enum Action { ALLOW, BLOCK, REDIRECT }

  @Override
  public void validate(String path, Problems problems) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}")) {
      problems.add(path + ".name", '"' + name + "\" is not a rule name (letters, digits, space . _ -, at most 128)");
    }
    if (action == Action.REDIRECT && location == null) {
      problems.add(path + ".location", "is required when action is redirect");
    }
    if (action != Action.REDIRECT && location != null) {
      problems.add(path + ".location", "is only for action redirect");
    }
    if (location != null) {
      String scheme = location.getScheme();
      if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || location.getHost() == null) {
        problems.add(path + ".location", '"' + location.toString() + "\" is not an absolute http(s) URL");
      }
    }
  }
}
