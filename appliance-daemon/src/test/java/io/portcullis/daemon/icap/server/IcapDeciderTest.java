package io.portcullis.daemon.icap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.server.IcapDecider.ScanLimit;
import io.portcullis.daemon.icap.server.IcapVerdict.Step;
import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.rules.Protection;
import io.portcullis.daemon.scan.ScanResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The ICAP server's decision step on its own, without Vert.x or sockets: each stage (bypass, access, protection,
 * scan) and their order, as the transaction meets them.
 */
class IcapDeciderTest {
  private static final ScanLimit PASS_OVER = new ScanLimit(1000, false);
  private static final ScanLimit BLOCK_OVER = new ScanLimit(1000, true);
  private static final byte[] EXE = "MZ\u0090\u0000 a program".getBytes(StandardCharsets.ISO_8859_1);

  private static final Policy POLICY = policy("""
      bypass:
        - { name: updates, when: { hosts: ["*.update.test"] } }
      access:
        - { name: no-casino, when: { hosts: [casino.test] }, action: block }
        - { name: to-portal, when: { hosts: [old.test] }, action: redirect, location: "http://portal.test/?u=%URL%" }
        - { name: no-exe, when: { hosts: [strict.test], fileTypes: [exe] }, action: block }
        - { name: staff, when: { groups: [staff] }, action: allow }
        - { name: everyone-update, when: { hosts: ["*.update.test"] }, action: block }
      protection:
        - { name: trust-images, when: { responseMimeTypes: ["image/*"] }, action: skip }
        - { name: lenient, when: { hosts: [lenient.test] }, action: block, onError: allow }
        - { name: scan-rest, action: block, onError: block }
      """);

  static Policy policy(String rulesYaml) {
    try {
      return Policy.compile(ConfigLoader.parse("rules:\n" + rulesYaml.indent(2)).rules(), Path.of("."));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static Facts request(String method, String url, List<String> groups) {
    return new Facts(method, url, "10.1.2.3", "alice", groups, null, Instant.parse("2026-11-25T10:00:00Z"));
  }

  static Facts get(String url) {
    return request("GET", url, List.of());
  }

  /** {@code facts} with a response of {@code mime} whose body starts with {@code head} and is {@code size} long. */
  static Facts response(Facts facts, String mime, byte[] head, long size) {
    HttpHead res = HttpHead.response(200, "OK", mime == null ? Headers.EMPTY : Headers.of("Content-Type", mime));
    return facts.withResponse(res, head, head == null ? 0 : head.length, size);
  }

  /** A RESPMOD body whose first bytes are known, run through the body stage. */
  static IcapVerdict respmodBody(String url, String mime, long size, ScanLimit limit) {
    return IcapDecider.onBody(POLICY, response(get(url), mime, "plain text".getBytes(StandardCharsets.US_ASCII),
        size), true, limit);
  }

  // ---- bypass ---------------------------------------------------------------------------------------------------

  @Test
  void aBypassRuleLetsTheRequestPassAtItsHead() {
    IcapVerdict v = IcapDecider.onRequest(POLICY, get("http://dl.update.test/big.iso"), true, true);
    assertEquals(Step.PASS, v.step());
    assertEquals("updates", v.bypassRule());
    assertSame(Decision.DEFAULT_ALLOW, v.access());
    assertNull(v.protection());
    assertEquals("bypass", v.ruleType());
    assertEquals("updates", v.ruleName());
    assertEquals("allow", v.action(false, 204));
  }

  @Test
  void bypassBeatsAccessAndProtectionAtEveryStage() {
    // "everyone-update" would block these hosts, and "scan-rest" would scan their bodies.
    IcapVerdict head = IcapDecider.onRequest(POLICY, get("http://dl.update.test/a"), false, true);
    assertEquals(Step.PASS, head.step());
    assertEquals("updates", head.bypassRule());
    IcapVerdict body = respmodBody("http://dl.update.test/a", "application/octet-stream", 10, PASS_OVER);
    assertEquals(Step.PASS, body.step());
    assertEquals("updates", body.bypassRule());
    assertSame(Decision.DEFAULT_ALLOW, body.access());
    assertNull(body.protection(), "no protection rule runs after a bypass");
  }

  // ---- access ---------------------------------------------------------------------------------------------------

  @Test
  void anAccessBlockAnswersTheBlockPageWithItsRule() {
    IcapVerdict v = IcapDecider.onRequest(POLICY, get("http://casino.test/"), true, false);
    assertEquals(Step.BLOCK, v.step());
    assertNull(v.bypassRule());
    assertEquals("no-casino", v.access().rule());
    assertEquals(new IcapVerdict.Page(BlockPage.DEFAULT, "no-casino", null, null), v.page());
    assertNull(v.threat());
    assertEquals("access", v.ruleType());
    assertEquals("no-casino", v.ruleName());
    assertEquals("block", v.action(false, 200));
  }

  @Test
  void anAccessRedirectCarriesItsExpandedLocation() {
    IcapVerdict v = IcapDecider.onRequest(POLICY, get("http://old.test/x"), true, false);
    assertEquals(Step.REDIRECT, v.step());
    assertEquals("http://portal.test/?u=http%3A%2F%2Fold.test%2Fx", v.access().location());
    assertEquals("redirect", v.action(false, 200));
    assertEquals("to-portal", v.ruleName());
  }

  @Test
  void anAccessAllowPassesARequestWithoutABodyAndWaitsForAnUpload() {
    Facts staff = request("GET", "http://intranet.test/", List.of("Staff"));
    IcapVerdict bare = IcapDecider.onRequest(POLICY, staff, true, false);
    assertEquals(Step.PASS, bare.step());
    assertEquals("staff", bare.access().rule());
    assertEquals("allow", bare.action(false, 204));
    assertEquals("access", bare.ruleType());

    IcapVerdict upload = IcapDecider.onRequest(POLICY, request("POST", "http://intranet.test/", List.of("staff")),
        true, true);
    assertEquals(Step.NEEDS_BODY, upload.step(), "an upload's true type may change the decision");
    assertEquals("staff", upload.access().rule());
  }

  @Test
  void respmodLeavesAccessToTheBodyStageWhereTheResponseIsKnown() {
    IcapVerdict head = IcapDecider.onRequest(POLICY, get("http://strict.test/setup.exe"), false, true);
    assertEquals(Step.NEEDS_BODY, head.step());
    assertNull(head.access());
    assertEquals("none", head.action(false, 0));

    IcapVerdict body = IcapDecider.onBody(POLICY, response(get("http://strict.test/setup.exe"),
        "application/octet-stream", EXE, 10), true, PASS_OVER);
    assertEquals(Step.BLOCK, body.step());
    assertEquals("no-exe", body.access().rule());
  }

  @Test
  void anUploadsTrueFileTypeReachesTheAccessRules() {
    Facts f = request("POST", "http://strict.test/upload", List.of());
    assertEquals(Step.NEEDS_BODY, IcapDecider.onRequest(POLICY, f, true, true).step());
    f.withRequestBody(HttpHead.request("POST", "/upload", Headers.of("Host", "strict.test")), EXE, EXE.length, -1);
    IcapVerdict v = IcapDecider.onBody(POLICY, f, true, PASS_OVER);
    assertEquals(Step.BLOCK, v.step());
    assertEquals("no-exe", v.page().rule());
  }

  @Test
  void accessBeatsProtection() {
    IcapVerdict v = respmodBody("http://casino.test/f.bin", "application/octet-stream", 10, PASS_OVER);
    assertEquals(Step.BLOCK, v.step());
    assertNull(v.protection(), "no protection rule runs after an access block");
    assertNull(v.threat());
    assertEquals("access", v.ruleType());
  }

  // ---- protection -----------------------------------------------------------------------------------------------

  @Test
  void aScanRuleScansABodyAndNothingWithout() {
    IcapVerdict v = respmodBody("http://files.test/f.bin", "application/octet-stream", 10, PASS_OVER);
    assertEquals(Step.SCAN, v.step());
    assertEquals("scan-rest", v.protection().rule());
    assertTrue(v.protection().scan());

    IcapVerdict none = IcapDecider.onBody(POLICY, response(get("http://files.test/f.bin"), null, null, -1), false,
        PASS_OVER);
    assertEquals(Step.PASS, none.step());
    assertSame(Protection.NO_SCAN, none.protection(), "no body, nothing to scan");
    assertEquals("none", none.ruleType());
  }

  @Test
  void aSkipRuleLetsTheBodyPassUnscannedAndNamesItself() {
    IcapVerdict v = respmodBody("http://files.test/i.png", "image/png", 10, PASS_OVER);
    assertEquals(Step.PASS, v.step());
    assertFalse(v.protection().scan());
    assertEquals("protection", v.ruleType());
    assertEquals("trust-images", v.ruleName());
    assertEquals("allow", v.action(false, 204));
  }

  @Test
  void aBodyOverTheScanLimitIsBlockedOrPassedAsScanOverMaxSizeSays() {
    IcapVerdict blocked = respmodBody("http://files.test/big.bin", "application/octet-stream", 1001, BLOCK_OVER);
    assertEquals(Step.BLOCK, blocked.step());
    assertEquals(IcapDecider.OVER_MAX_SIZE, blocked.threat());
    assertEquals(new IcapVerdict.Page(BlockPage.DEFAULT, "scan-rest", null,
        "the file is larger than the scan limit (1000 bytes)"), blocked.page());
    assertEquals("protection", blocked.ruleType());
    assertEquals("block", blocked.action(false, 200));

    IcapVerdict passed = respmodBody("http://files.test/big.bin", "application/octet-stream", 1001, PASS_OVER);
    assertEquals(Step.PASS, passed.step());
    assertNull(passed.threat());
    assertEquals("scan-rest", passed.protection().rule());

    assertEquals(Step.SCAN, respmodBody("http://files.test/f.bin", "application/octet-stream", 1000, BLOCK_OVER)
        .step(), "at the limit exactly, it is scanned");
  }

  @Test
  void aBodyThatOutgrowsTheScanLimitWhileCollected() {
    IcapVerdict scan = respmodBody("http://files.test/f.bin", "application/octet-stream", -1, BLOCK_OVER);
    assertEquals(Step.SCAN, scan.step());

    IcapVerdict blocked = IcapDecider.overMaxSize(scan, BLOCK_OVER);
    assertEquals(Step.BLOCK, blocked.step());
    assertEquals(IcapDecider.OVER_MAX_SIZE, blocked.threat());
    assertEquals("scan-rest", blocked.page().rule());

    IcapVerdict passed = IcapDecider.overMaxSize(scan, PASS_OVER);
    assertEquals(Step.PASS, passed.step());
    assertNull(passed.threat());
    assertFalse(passed.protection().scan());
    assertEquals("scan-rest (over scan.maxSize)", passed.ruleName());
    assertEquals("protection", passed.ruleType());
  }

  // ---- scan -----------------------------------------------------------------------------------------------------

  @Test
  void anInfectedBodyIsBlockedWithItsThreat() {
    IcapVerdict scan = respmodBody("http://files.test/f.bin", "application/octet-stream", 10, PASS_OVER);
    IcapVerdict v = IcapDecider.onScan(scan, new ScanResult.Infected("Eicar-Test-Signature", "clamd"));
    assertEquals(Step.BLOCK, v.step());
    assertEquals("Eicar-Test-Signature", v.threat());
    assertEquals(new IcapVerdict.Page(BlockPage.DEFAULT, "scan-rest", null, "Eicar-Test-Signature"), v.page());
    assertEquals("protection", v.ruleType());
    assertEquals("scan-rest", v.ruleName());
    assertEquals("block", v.action(false, 200));
  }

  @Test
  void aCleanBodyPassesUnderItsScanRule() {
    IcapVerdict scan = respmodBody("http://files.test/f.bin", "application/octet-stream", 10, PASS_OVER);
    IcapVerdict v = IcapDecider.onScan(scan, ScanResult.CLEAN);
    assertEquals(Step.PASS, v.step());
    assertNull(v.threat());
    assertNull(v.page());
    assertEquals("protection", v.ruleType());
    assertEquals("scan-rest", v.ruleName());
    assertEquals("allow", v.action(false, 204));
  }

  @Test
  void aFailedScanBlocksOrPassesAsTheRulesOnErrorSays() {
    ScanResult.Failed failed = new ScanResult.Failed("clamd did not answer", "clamd");
    IcapVerdict strict = IcapDecider.onScan(
        respmodBody("http://files.test/f.bin", "application/octet-stream", 10, PASS_OVER), failed);
    assertEquals(Step.BLOCK, strict.step());
    assertEquals("scan failed: clamd did not answer", strict.threat());
    assertEquals("the file could not be checked", strict.page().threat());
    assertEquals("block", strict.action(false, 200));

    IcapVerdict lenient = IcapDecider.onScan(
        respmodBody("http://lenient.test/f.bin", "application/octet-stream", 10, PASS_OVER), failed);
    assertEquals(Step.PASS, lenient.step());
    assertNull(lenient.threat());
    assertEquals("lenient", lenient.ruleName());
    assertEquals("allow", lenient.action(false, 204));
  }

  // ---- before any rule ------------------------------------------------------------------------------------------

  @Test
  void withoutRulesTheActionFollowsTheAnswer() {
    assertEquals("error", IcapVerdict.NONE.action(false, 404));
    assertEquals("none", IcapVerdict.NONE.action(false, 200));
    assertEquals("error", IcapVerdict.NONE.action(true, 0));
    assertEquals("none", IcapVerdict.NONE.ruleType());
    assertNull(IcapVerdict.NONE.ruleName());
    assertNull(IcapVerdict.NONE.category());
  }
}
