package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.AccessRule;

/** What the access rules decided: the action, the rule that matched (null when none did) and a redirect's location. */
public record Decision(AccessRule.Action action, String rule, String location) {
  /** No rule matched: the request passes. */
  public static final Decision DEFAULT_ALLOW = new Decision(AccessRule.Action.ALLOW, null, null);

  /** The decision's name in logs and metrics: allow, block or redirect. */
  public String actionName() {
    return action.name().toLowerCase(java.util.Locale.ROOT);
  }
}
