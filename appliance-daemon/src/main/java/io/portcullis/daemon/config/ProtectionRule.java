package io.portcullis.daemon.config;

/** One protection rule: for matching traffic, scan bodies and block threats ({@code block}) or do not scan ({@code skip}). */
public record ProtectionRule(
    @Doc("the rule's name, unique among protection rules") String name,
    @Doc("conditions that must all hold (an empty when matches everything)") Conditions when,
    @Doc("block (scan; deny when a threat is found) or skip (do not scan)") Action action,
    @Doc("when the scan engine fails: block or allow") @Default("block") OnError onError,
    @Doc("block page template file for this rule (relative to the config's directory)") @OptionalKey
    @ConfigFile(ConfigFile.Kind.TEMPLATE) String template)
    implements Validatable {

  /** What a protection rule does with traffic it matches. */
  public enum Action { BLOCK, SKIP }

  /** What happens when the scan cannot be done. */
  public enum OnError { BLOCK, ALLOW }

  @Override
  public void validate(String path, Problems problems) {
    Rules.checkName(name, path, problems);
    if (action == Action.SKIP && template != null) {
      problems.add(path + ".template", "is only for action block");
    }
  }
}
