package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.rules.Protection;
import io.portcullis.daemon.scan.ScanResult;

/**
 * The rule decisions of one ICAP transaction, stage by stage as its message arrives: bypass, then access, then
 * protection, then the scan's verdict. Pure: plain values in, an {@link IcapVerdict} out, no I/O; the rules
 * themselves are {@link Policy}'s. Stages run again as more is known because a rule may look at the response or the
 * body's true type, which the request alone does not tell.
 */
final class IcapDecider {
  /** The event's threat for a body blocked by scan.overMaxSize. */
  static final String OVER_MAX_SIZE = "over scan.maxSize";

  /** scan.maxSize, and whether scan.overMaxSize blocks a larger body (else it passes unscanned). */
  record ScanLimit(long maxSize, boolean blockOver) {
  }

  private IcapDecider() {
  }

  /** At the ICAP head, from the request alone: bypass, then for REQMOD access; RESPMOD waits for the response. */
  static IcapVerdict onRequest(Policy policy, Facts facts, boolean reqmod, boolean hasBody) {
    String bypass = policy.bypass(facts);
    if (bypass != null) {
      return new IcapVerdict(IcapVerdict.Step.PASS, bypass, Decision.DEFAULT_ALLOW, null, null, null);
    }
    if (!reqmod) {
      return new IcapVerdict(IcapVerdict.Step.NEEDS_BODY, null, null, null, null, null);
    }
    Decision access = policy.access(facts);
    IcapVerdict answered = answered(access);
    if (answered != null) {
      return answered;
    }
    // An upload: its first bytes tell its true type, then protection may scan it.
    return new IcapVerdict(hasBody ? IcapVerdict.Step.NEEDS_BODY : IcapVerdict.Step.PASS, null, access, null, null,
        null);
  }

  /**
   * With the response (or REQMOD upload) known, its body's first bytes or all of it in {@code facts} when there is
   * one: bypass, access, protection, and whether to scan. {@code hasBody}: the message encapsulates a body.
   */
  static IcapVerdict onBody(Policy policy, Facts facts, boolean hasBody, ScanLimit limit) {
    String bypass = policy.bypass(facts);
    if (bypass != null) {
      return new IcapVerdict(IcapVerdict.Step.PASS, bypass, Decision.DEFAULT_ALLOW, null, null, null);
    }
    Decision access = policy.access(facts);
    IcapVerdict answered = answered(access);
    if (answered != null) {
      return answered;
    }
    Protection protection = policy.protection(facts);
    boolean tooBig = facts.bodySize() > limit.maxSize();
    if (tooBig && protection.scan() && hasBody && limit.blockOver()) {
      return blockedOverMaxSize(access, protection, limit);
    }
    if (!protection.scan() || !hasBody || tooBig) {
      if (protection.scan() && !hasBody) {
        protection = Protection.NO_SCAN; // nothing to scan
      }
      return new IcapVerdict(IcapVerdict.Step.PASS, null, access, protection, null, null);
    }
    return new IcapVerdict(IcapVerdict.Step.SCAN, null, access, protection, null, null);
  }

  /**
   * A body to scan for {@code v} outgrew scan.maxSize while it was collected (no Content-Length told before): blocked
   * if scan.overMaxSize says so, else it passes unscanned under its protection rule, marked as such.
   */
  static IcapVerdict overMaxSize(IcapVerdict v, ScanLimit limit) {
    if (limit.blockOver()) {
      return blockedOverMaxSize(v.access(), v.protection(), limit);
    }
    Protection unscanned = new Protection(false, v.protection().rule() + " (over scan.maxSize)", false, null);
    return new IcapVerdict(IcapVerdict.Step.PASS, v.bypassRule(), v.access(), unscanned, null, null);
  }

  /** The scan's {@code result} for {@code v}: a threat blocks; a failure blocks if the protection rule says so. */
  static IcapVerdict onScan(IcapVerdict v, ScanResult result) {
    Protection p = v.protection();
    if (result instanceof ScanResult.Infected inf) {
      return blocked(v.access(), p, inf.threat(), inf.threat());
    }
    if (result instanceof ScanResult.Failed f && p.blockOnError()) {
      return blocked(v.access(), p, "scan failed: " + f.reason(), "the file could not be checked");
    }
    return new IcapVerdict(IcapVerdict.Step.PASS, v.bypassRule(), v.access(), p, null, null);
  }

  /** The verdict for an access block or redirect, or null if {@code access} lets the message pass. */
  private static IcapVerdict answered(Decision access) {
    if (access.action() == AccessRule.Action.BLOCK) {
      return new IcapVerdict(IcapVerdict.Step.BLOCK, null, access, null, null,
          new IcapVerdict.Page(access.page(), access.rule(), access.category(), null));
    }
    if (access.action() == AccessRule.Action.REDIRECT) {
      return new IcapVerdict(IcapVerdict.Step.REDIRECT, null, access, null, null, null);
    }
    return null;
  }

  /** The block for a body over scan.maxSize that scan.overMaxSize blocks. */
  private static IcapVerdict blockedOverMaxSize(Decision access, Protection p, ScanLimit limit) {
    return blocked(access, p, OVER_MAX_SIZE,
        "the file is larger than the scan limit (" + limit.maxSize() + " bytes)");
  }

  /** A protection block: {@code threat} for events and headers, {@code told} on the page. */
  private static IcapVerdict blocked(Decision access, Protection p, String threat, String told) {
    return new IcapVerdict(IcapVerdict.Step.BLOCK, null, access, p, threat,
        new IcapVerdict.Page(p.page(), p.rule(), null, told));
  }
}
