package io.portcullis.daemon.config;

import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.List;

/**
 * Traffic processing rules: bypass, then access, then protection; in each list the first match wins. TLS rules decide
 * what CONNECT tunnels get, once the ClientHello is read.
 */
public record RulesConfig(
    @Doc("bypass rules: matching traffic is not processed at all") List<BypassRule> bypass,
    @Doc("access rules, in order; the first that matches decides") List<AccessRule> access,
    @Doc("protection rules, in order; the first that matches decides whether bodies are scanned")
    List<ProtectionRule> protection,
    @Doc("TLS rules for CONNECT tunnels, in order; the first that matches decides: tunnel or block (inspect: not in "
        + "this build yet). hosts match the ClientHello's server name (SNI), else the CONNECT host; both are judged "
        + "when they differ. No match: tunnel") List<TlsRule> tls,
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
