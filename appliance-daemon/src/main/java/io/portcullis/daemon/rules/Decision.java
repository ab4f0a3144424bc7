package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.pages.BlockPage;

/**
 * What the access rules decided: the action, the rule that matched (null when none did), a redirect's location
 * (macros expanded), the request's category (for the page, may be null) and the block page to show.
 */
public record Decision(AccessRule.Action action, String rule, String location, String category, BlockPage page) {
  /** No rule matched: the request passes. */
  public static final Decision DEFAULT_ALLOW = new Decision(AccessRule.Action.ALLOW, null, null, null, null);

  /** The decision's name in logs and metrics: allow, block or redirect. */
  public String actionName() {
    return action.name().toLowerCase(java.util.Locale.ROOT);
  }
}
