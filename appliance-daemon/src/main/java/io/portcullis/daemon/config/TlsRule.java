package io.portcullis.daemon.config;

/**
 * One TLS rule: what the proxy does with a CONNECT tunnel whose conditions hold. Its hosts are matched against the
 * ClientHello's server name (SNI), else the CONNECT host; when the two differ both are judged, so a name sent in
 * the SNI cannot front for a host a rule blocks.
 */
public record TlsRule(
    @Doc("the rule's name, unique among TLS rules") String name,
    @Doc("conditions that must all hold (an empty when matches every tunnel)") Conditions when,
    @Doc("inspect (decrypt, so the other rules see its https requests), tunnel (pass the bytes, see nothing) or "
        + "block (refuse the tunnel)")
    Action action) implements Validatable {

  /** What a TLS rule does with a tunnel it matches. */
  public enum Action { INSPECT, TUNNEL, BLOCK }

  @Override
  public void validate(String path, Problems problems) {
    Rules.checkName(name, path, problems);
  }
}
