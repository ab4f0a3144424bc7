package io.portcullis.daemon.config;

/**
 * One TLS rule: what the proxy does with a CONNECT tunnel whose conditions hold. Its hosts are matched against the
 * ClientHello's server name (SNI), else the CONNECT host; when the two differ both are judged, so a name sent in
 * the SNI cannot front for a host a rule blocks.
 */
public record TlsRule(
    @Doc("the rule's name, unique among TLS rules") String name,
    @Doc("conditions that must all hold (an empty when matches every tunnel)") Conditions when,
    @Doc("tunnel (pass the bytes, see nothing), block (refuse the tunnel) or inspect (not in this build yet)")
    Action action) implements Validatable {

  /** What a TLS rule does with a tunnel it matches. */
  public enum Action { INSPECT, TUNNEL, BLOCK }

  @Override
  public void validate(String path, Problems problems) {
    Rules.checkName(name, path, problems);
    if (action == Action.INSPECT) {
      // Refused rather than tunnelled: a rule that said inspect and did not would lie about what is scanned.
      problems.add(path + ".action", "inspect is not in this build yet (tunnel and block are); use tunnel");
    }
  }
}
