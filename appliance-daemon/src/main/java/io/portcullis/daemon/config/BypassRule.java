package io.portcullis.daemon.config;

/** One bypass rule: matching traffic passes with no access or protection processing (e.g. trusted update servers). */
public record BypassRule(
    @Doc("the rule's name, unique among bypass rules") String name,
    @Doc("conditions that must all hold") Conditions when) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    Rules.checkName(name, path, problems);
    if (when.isEmpty()) {
      problems.add(path + ".when", "is empty: a bypass rule without conditions would turn off all processing");
    }
  }
}
