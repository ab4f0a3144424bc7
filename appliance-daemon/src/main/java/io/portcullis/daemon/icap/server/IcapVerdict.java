package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.Protection;

/**
 * What the rules have decided for one ICAP transaction so far, and what the transaction does next. Each stage of
 * {@link IcapDecider} returns a new one; a null part was not decided (yet).
 *
 * @param step what the transaction does next
 * @param bypassRule the bypass rule that matched, or null
 * @param access the access decision, or null before the access rules ran
 * @param protection what the protection rules said, or null before they ran
 * @param threat the threat that blocks the body (a scan's finding, a failed scan, or {@link IcapDecider#OVER_MAX_SIZE})
 * @param page the block page to answer, for {@link Step#BLOCK} only
 */
record IcapVerdict(Step step, String bypassRule, Decision access, Protection protection, String threat, Page page) {

  /** No rule ran: OPTIONS, or a message refused before the rules (404, 405). */
  static final IcapVerdict NONE = new IcapVerdict(Step.NONE, null, null, null, null, null);

  /** What the transaction does next. */
  enum Step {
    NONE,       // no rule ran
    PASS,       // the message passes unchanged
    BLOCK,      // answer the block page
    REDIRECT,   // answer a redirect to access().location()
    NEEDS_BODY, // the decision waits for the body's first bytes (RESPMOD: for the response at least)
    SCAN        // collect the whole body and scan it
  }

  /** A block page: its template (null: the default), the rule and category it names, the threat it tells of. */
  record Page(BlockPage template, String rule, String category, String threat) {
  }

  /** The action for events, metrics and headers: allow, block, redirect, error (a failed answer) or none. */
  String action(boolean aborted, int status) {
    return threat != null ? "block" : aborted ? "error" : access == null ? (status >= 400 ? "error" : "none")
        : access.actionName();
  }

  /** Which rule list decided: bypass, protection (a threat, or a scan rule on an allowed message), access, or none. */
  String ruleType() {
    if (bypassRule != null) {
      return "bypass";
    }
    if (threat != null || access != null && access.rule() == null && protection != null
        && protection.rule() != null) {
      return "protection";
    }
    return access != null && access.rule() != null ? "access" : "none";
  }

  /** The name of the rule that decided (see {@link #ruleType()}), or null. */
  String ruleName() {
    return switch (ruleType()) {
      case "bypass" -> bypassRule;
      case "protection" -> protection == null ? null : protection.rule();
      case "access" -> access.rule();
      default -> null;
    };
  }

  /** The URL category the access rules matched, or null. */
  String category() {
    return access == null ? null : access.category();
  }
}
