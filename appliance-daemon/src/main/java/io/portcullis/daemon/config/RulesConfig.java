package io.portcullis.daemon.config;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.List;

/** Traffic processing rules: bypass, then access, then protection; in each list the first match wins. */
public record RulesConfig(
    @Doc("bypass rules: matching traffic is not processed at all") List<BypassRule> bypass,
    @Doc("access rules, in order; the first that matches decides") List<AccessRule> access,
    @Doc("protection rules, in order; the first that matches decides whether bodies are scanned")
    List<ProtectionRule> protection,
    @Doc("named URL categories that rules refer to") List<Category> categories,
    @Doc("time zone of schedules, e.g. Europe/Berlin") @Default("UTC") String timeZone) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    try {
      ZoneId.of(timeZone);
    } catch (DateTimeException e) {
      problems.add(path + ".timeZone", '"' + timeZone + "\" is not a time zone (e.g. UTC, Europe/Berlin)");
    }
  }
}
