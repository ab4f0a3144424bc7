package io.portcullis.daemon.config;

/** One access rule: when its conditions hold, its action decides the request. */
public record AccessRule(
    @Doc("the rule's name, unique among access rules") String name,
    @Doc("conditions that must all hold (an empty when matches everything)") Conditions when,
    @Doc("allow, block or redirect") Action action,
    @Doc("where redirect sends the user: an http(s) URL; macros %URL%, %HOST%, %RULE_NAME%, %CLIENT_IP%, "
        + "%USER_NAME%, %CATEGORY% are replaced (URL-encoded)") @OptionalKey String location,
    @Doc("block page template file for this rule (relative to the config's directory); default: the built-in page")
    @OptionalKey @ConfigFile(ConfigFile.Kind.TEMPLATE) String template) implements Validatable {

  /** What an access rule does with a request it matches. */
  public enum Action { ALLOW, BLOCK, REDIRECT }

  @Override
  public void validate(String path, Problems problems) {
    Rules.checkName(name, path, problems);
    if (action == Action.REDIRECT && location == null) {
      problems.add(path + ".location", "is required when action is redirect");
    }
    if (action != Action.REDIRECT && location != null) {
      problems.add(path + ".location", "is only for action redirect");
    }
    if (action != Action.BLOCK && template != null) {
      problems.add(path + ".template", "is only for action block");
    }
    if (location != null && !location.matches("(?i)https?://[^\\s/?#]+[^\\s]*")) {
      problems.add(path + ".location", '"' + location + "\" is not an absolute http(s) URL");
    }
  }
}
