package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each condition, first-match order, exclusions, schedules, categories and the three rule kinds. */
class PolicyTest {
  @TempDir
  Path dir;

  Policy policy(String rulesYaml) throws Exception {
    return Policy.compile(ConfigLoader.parse("rules:\n" + rulesYaml.indent(2)).rules(), dir);
  }

  static Facts get(String url) {
    return new Facts("GET", url, "10.1.2.3", null, List.of(), null, Instant.parse("2026-11-25T10:00:00Z"));
  }

  static Facts req(String method, String url, String client, String user, List<String> groups, String mime,
      Instant time) {
    return new Facts(method, url, client, user, groups, mime, time);
  }

  static String rule(Policy p, Facts f) {
    return p.access(f).rule();
  }

  @Test
  void hostsMatchExactDomainAndWildcards() throws Exception {
    Policy p = policy("""
        access:
          - { name: exact, when: { hosts: [exact.test] }, action: block }
          - { name: domain, when: { hosts: ["*.domain.test"] }, action: block }
          - { name: glob, when: { hosts: ["ad?.*.glob.test"] }, action: block }
        """);
    assertEquals("exact", rule(p, get("http://exact.test/")));
    assertEquals("exact", rule(p, get("http://EXACT.test:8080/x")));
    assertNull(rule(p, get("http://www.exact.test/")));
    assertEquals("domain", rule(p, get("http://domain.test/")));
    assertEquals("domain", rule(p, get("http://a.b.domain.test/")));
    assertNull(rule(p, get("http://notdomain.test/")));
    assertEquals("glob", rule(p, get("http://ads.x.glob.test/")));
    assertNull(rule(p, get("http://adverts.x.glob.test/")));
    assertEquals(AccessRule.Action.ALLOW, p.access(get("http://other.test/")).action());
  }

  @Test
  void aTrailingDotOrUserInfoDoesNotWalkPastHostAndUrlRules() throws Exception {
    Policy p = policy("""
        access:
          - { name: host, when: { hosts: [blocked.test] }, action: block }
          - { name: url, when: { urls: ["http://paths.test/secret/*"] }, action: block }
          - { name: connect, when: { hosts: [tunnel.test], methods: [CONNECT] }, action: block }
        """);
    assertEquals("host", rule(p, get("http://blocked.test./")));
    assertEquals("host", rule(p, get("http://BLOCKED.TEST../x")));
    assertEquals("url", rule(p, get("http://paths.test./secret/a")));
    assertEquals("url", rule(p, get("http://someone@paths.test/secret/a")));
    assertEquals("url", rule(p, get("http://paths.test.:80/secret/a")));
    assertEquals("connect", rule(p, req("CONNECT", "tunnel.test.:443", null, null, List.of(), null, Instant.now())));
    assertNull(rule(p, get("http://paths.test:8080/secret/a")));
  }

  @Test
  void urlGlobsWithAQuestionMarkOrAnIpv6HostStillMatch() throws Exception {
    Policy p = policy("""
        access:
          - { name: q, when: { urls: ["http://a?.test/x*"] }, action: block }
          - { name: v6, when: { urls: ["http://[::1]:8080/admin*"] }, action: block }
        """);
    assertEquals("q", rule(p, get("http://ab.test/x1")));
    assertEquals("v6", rule(p, get("http://[::1]:8080/admin/x")));
    assertNull(rule(p, get("http://abc.test/x1")));
  }

  @Test
  void firstMatchingRuleWinsInListOrder() throws Exception {
    Policy p = policy("""
        access:
          - { name: allow-ceo, when: { hosts: ["*.shop.test"], users: [Ceo] }, action: allow }
          - { name: block-shops, when: { hosts: ["*.shop.test"] }, action: block }
          - { name: block-all-shopping, when: { urls: ["*shop*"] }, action: block }
        """);
    Instant t = Instant.now();
    assertEquals("allow-ceo", rule(p, req("GET", "http://www.shop.test/", null, "ceo", List.of(), null, t)));
    assertEquals("block-shops", rule(p, req("GET", "http://www.shop.test/", null, "bob", List.of(), null, t)));
    assertEquals("block-all-shopping", rule(p, get("http://other.test/shopping")));
  }

  @Test
  void unlessExcludes() throws Exception {
    Policy p = policy("""
        access:
          - name: no-social
            when:
              hosts: ["*.social.test"]
              unless: [ { groups: [marketing] }, { clients: [192.168.7.0/24] } ]
            action: block
        """);
    Instant t = Instant.now();
    assertEquals("no-social", rule(p, req("GET", "http://social.test/", "10.0.0.1", "u", List.of("sales"), null, t)));
    assertNull(rule(p, req("GET", "http://social.test/", "10.0.0.1", "u", List.of("Marketing"), null, t)));
    assertNull(rule(p, req("GET", "http://social.test/", "192.168.7.9", "u", List.of(), null, t)));
  }

  @Test
  void methodsSchemesPortsClientsAndUrls() throws Exception {
    Policy p = policy("""
        access:
          - { name: connect-odd-port, when: { methods: [CONNECT], ports: [8443] }, action: block }
          - { name: plain-http-admin, when: { schemes: [http], urls: ["*/admin/*"] }, action: block }
          - { name: v6-lab, when: { clients: ["2001:db8::/32"] }, action: block }
          - { name: regex, when: { urls: ["regex:[?&]token="] }, action: block }
        """);
    Instant t = Instant.now();
    assertEquals("connect-odd-port", rule(p, req("CONNECT", "bank.test:8443", null, null, null, null, t)));
    assertNull(rule(p, req("CONNECT", "bank.test:443", null, null, null, null, t)));
    assertEquals("plain-http-admin", rule(p, get("http://a.test/admin/x")));
    assertNull(rule(p, get("https://a.test/admin/x")));
    assertEquals("v6-lab", rule(p, req("GET", "http://a.test/", "2001:db8:1::5", null, null, null, t)));
    assertNull(rule(p, req("GET", "http://a.test/", "2001:db9::5", null, null, null, t)));
    assertEquals("regex", rule(p, get("http://a.test/x?a=1&token=abc")));
    assertNull(rule(p, get("http://a.test/x?a=1&tok=abc")));
  }

  @Test
  void requestAndResponseTypesFileTypesNamesAndSizes() throws Exception {
    Policy p = policy("""
        access:
          - { name: no-json-posts, when: { methods: [POST], requestMimeTypes: [application/json] }, action: block }
          - { name: no-video, when: { responseMimeTypes: ["video/*"] }, action: block }
          - { name: no-exe, when: { fileTypes: [exe, elf] }, action: block }
          - { name: no-iso-names, when: { fileNames: ["*.iso"] }, action: block }
          - { name: no-huge, when: { minBodySize: 100MiB }, action: block }
        """);
    Instant t = Instant.now();
    assertEquals("no-json-posts", rule(p, req("POST", "http://a.test/", null, null, null, "application/json", t)));
    Facts before = get("http://a.test/file.txt");
    assertNull(rule(p, before), "response conditions cannot match before the response");
    HttpHead video = HttpHead.response(200, "OK", Headers.of("Content-Type", "video/mp4; codecs=x"));
    assertEquals("no-video", rule(p, get("http://a.test/v").withResponse(video, null, 0, -1)));
    HttpHead text = HttpHead.response(200, "OK", Headers.of("Content-Type", "text/plain", "Content-Length", "10"));
    byte[] mz = "MZ\u0090\u0000rest".getBytes(StandardCharsets.ISO_8859_1);
    assertEquals("no-exe", rule(p, get("http://a.test/readme.txt").withResponse(text, mz, mz.length, -1)),
        "the true type counts, not the name or the declared type");
    HttpHead disposition = HttpHead.response(200, "OK", Headers.of("Content-Disposition",
        "attachment; filename=\"Disk Image.ISO\""));
    assertEquals("no-iso-names", rule(p, get("http://a.test/download?id=3").withResponse(disposition, null, 0, -1)));
    assertEquals("no-iso-names", rule(p, get("http://a.test/files/debian.iso").withResponse(text, null, 0, -1)));
    HttpHead big = HttpHead.response(200, "OK", Headers.of("Content-Length", Long.toString(200L << 20)));
    assertEquals("no-huge", rule(p, get("http://a.test/x").withResponse(big, null, 0, -1)));
    assertNull(rule(p, get("http://a.test/x").withResponse(text, null, 0, -1)));
  }

  @Test
  void schedulesUseTheirTimeZoneAndCrossMidnight() throws Exception {
    Policy p = policy("""
        timeZone: Europe/Berlin
        access:
          - name: night
            when: { hosts: [games.test], schedule: { days: [fri], times: ["22:00-06:00"] } }
            action: block
          - name: office-hours
            when: { hosts: [news.test], schedule: { days: [mon, tue, wed, thu, fri], times: ["08:00-12:00"] } }
            action: block
        """);
    // Friday 2026-11-27 22:30 in Berlin is 21:30 UTC; Saturday 05:00 Berlin is 04:00 UTC.
    assertEquals("night", rule(p, req("GET", "http://games.test/", null, null, null, null,
        Instant.parse("2026-11-27T21:30:00Z"))));
    assertEquals("night", rule(p, req("GET", "http://games.test/", null, null, null, null,
        Instant.parse("2026-11-28T04:00:00Z"))), "Saturday early morning belongs to Friday night");
    assertNull(rule(p, req("GET", "http://games.test/", null, null, null, null,
        Instant.parse("2026-11-28T21:30:00Z"))), "Saturday night is not Friday night");
    assertNull(rule(p, req("GET", "http://games.test/", null, null, null, null,
        Instant.parse("2026-11-27T20:30:00Z"))), "21:30 Berlin is before 22:00");
    // 07:30 UTC on a Wednesday is 08:30 in Berlin (winter time).
    assertEquals("office-hours", rule(p, req("GET", "http://news.test/", null, null, null, null,
        Instant.parse("2026-11-25T07:30:00Z"))));
    assertNull(rule(p, req("GET", "http://news.test/", null, null, null, null,
        Instant.parse("2026-11-25T06:30:00Z"))), "07:30 Berlin is before office hours");
  }

  @Test
  void categoriesComeFromFilesAndRedirectMacrosAreEncoded() throws Exception {
    Files.writeString(dir.resolve("gambling.txt"), "# gambling sites\ncasino.test\n*.poker.test\n\nbets.test/live\n");
    Policy p = policy("""
        categories: [ { name: gambling, file: gambling.txt } ]
        access:
          - name: to-portal
            when: { categories: [gambling] }
            action: redirect
            location: "https://portal.test/blocked?url=%URL%&cat=%CATEGORY%&rule=%RULE_NAME%"
        """);
    Decision d = p.access(get("http://www.casino.test/spin?x=1&y=<2>"));
    assertEquals(AccessRule.Action.REDIRECT, d.action());
    assertEquals("gambling", d.category());
    assertEquals("https://portal.test/blocked?url=http%3A%2F%2Fwww.casino.test%2Fspin%3Fx%3D1%26y%3D%3C2%3E"
        + "&cat=gambling&rule=to-portal", d.location());
    assertEquals("to-portal", rule(p, get("http://eu.poker.test/")));
    assertEquals("to-portal", rule(p, get("http://bets.test/live/match/7")));
    assertNull(rule(p, get("http://bets.test/results")));
    assertNull(rule(p, get("http://casino.test.example/")));
  }

  @Test
  void missingCategoryFileFailsTheCompileNamingThePath() {
    Policy.PolicyException e = assertThrows(Policy.PolicyException.class, () -> policy("""
        categories: [ { name: news, file: missing.txt } ]
        """));
    assertTrue(e.getMessage().startsWith("rules.categories[0].file: cannot read"), e.getMessage());
  }

  @Test
  void bypassAndProtectionRules() throws Exception {
    Policy p = policy("""
        bypass:
          - { name: updates, when: { hosts: ["*.update.test"] } }
        protection:
          - { name: trust-images, when: { responseMimeTypes: ["image/*"] }, action: skip }
          - { name: scan-rest, action: block, onError: allow }
        """);
    assertEquals("updates", p.bypass(get("http://dl.update.test/big.iso")));
    assertNull(p.bypass(get("http://other.test/")));
    HttpHead png = HttpHead.response(200, "OK", Headers.of("Content-Type", "image/png"));
    Protection skip = p.protection(get("http://a.test/i.png").withResponse(png, null, 0, -1));
    assertFalse(skip.scan());
    assertEquals("trust-images", skip.rule());
    Protection scan = p.protection(get("http://a.test/f.bin").withResponse(HttpHead.response(200, "OK",
        Headers.EMPTY), null, 0, -1));
    assertTrue(scan.scan());
    assertFalse(scan.blockOnError());
    assertEquals("scan-rest", scan.rule());
  }
}
