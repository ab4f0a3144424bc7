package io.portcullis.daemon.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.Conditions;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The index must pick exactly the rule that a plain first-to-last scan picks, for any rules and requests. */
class RuleIndexTest {

  static Conditions when(List<String> hosts, List<String> urls, List<Cidr> clients, List<String> methods) {
    return new Conditions(hosts, urls, List.of(), List.of(), methods, clients, List.of(), List.of(), List.of(),
        List.of(), List.of(), List.of(), null, null, null, List.of(), List.of());
  }

  @Test
  void indexedLookupAgreesWithALinearScanOnRandomRules() {
    Random r = new Random(42);
    String[] names = {"a", "b", "c", "shop", "news", "ads", "cdn", "mail"};
    String[] tlds = {"test", "example", "corp"};
    List<AccessRule> rules = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      String host = names[r.nextInt(names.length)] + r.nextInt(20) + "." + tlds[r.nextInt(tlds.length)];
      List<String> hosts = List.of();
      List<String> urls = List.of();
      List<Cidr> clients = List.of();
      List<String> methods = r.nextInt(10) == 0 ? List.of("POST") : List.of();
      switch (r.nextInt(6)) {
        case 0 -> hosts = List.of(host);
        case 1 -> hosts = List.of("*." + tlds[r.nextInt(tlds.length)].replace("test", "b3.test"), "*." + host);
        case 2 -> urls = List.of("http://" + host + "/p" + r.nextInt(3) + "*");
        case 3 -> clients = List.of(Cidr.parse("10." + r.nextInt(4) + ".0.0/" + (12 + r.nextInt(13))));
        case 4 -> urls = List.of("regex:^http://" + host.replace(".", "\\.") + "/p[0-3]$");
        default -> hosts = List.of(names[r.nextInt(names.length)] + "?." + tlds[r.nextInt(tlds.length)]);
      }
      rules.add(new AccessRule("r" + i, when(hosts, urls, clients, methods), AccessRule.Action.BLOCK, null, null));
    }
    RuleSet<AccessRule> indexed = new RuleSet<>(rules, AccessRule::when, CategoryDb.EMPTY, ZoneId.of("UTC"));
    List<Matcher> linear = rules.stream().map(x -> new Matcher(x.when(), CategoryDb.EMPTY, ZoneId.of("UTC"))).toList();
    int matched = 0;
    for (int q = 0; q < 20000; q++) {
      String host = (r.nextInt(3) == 0 ? "www." : "") + names[r.nextInt(names.length)] + r.nextInt(60) + "."
          + tlds[r.nextInt(tlds.length)];
      String url = "http://" + host + "/p" + r.nextInt(10);
      Facts f = new Facts(r.nextInt(5) == 0 ? "POST" : "GET", url, (r.nextBoolean() ? "10." : "172.") + r.nextInt(6) + "." + r.nextInt(256) + ".9",
          null, List.of(), null, Instant.now());
      int expected = -1;
      for (int i = 0; i < linear.size(); i++) {
        if (linear.get(i).matches(f, CategoryDb.EMPTY)) {
          expected = i;
          break;
        }
      }
      assertEquals(expected, indexed.first(f), url + " from " + f.clientIp());
      if (expected >= 0) {
        matched++;
      }
    }
    // The test must exercise matches as well as misses.
    org.junit.jupiter.api.Assertions.assertTrue(matched > 1000 && matched < 19000, "matched " + matched);
  }

  @Test
  void hostlessUrlPatternsAreIndexedAndAgreeWithALinearScan() {
    Random r = new Random(43);
    String[] words = {"ads", "track", "banner", "img", "static", "login", "pixel", "beacon", "video", "promo"};
    String[] exts = {".gif", ".exe", ".js", ".png", ".zip"};
    List<AccessRule> rules = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      String w = words[r.nextInt(words.length)] + r.nextInt(30);
      String e = exts[r.nextInt(exts.length)];
      List<String> urls = switch (r.nextInt(9)) {
        case 0 -> List.of("*/" + w + "/*");
        case 1 -> List.of("*" + w + "*" + e);
        case 2 -> List.of("*" + w.toUpperCase() + "?" + e, "*/" + w + "=*");
        case 3 -> List.of("regex:/" + w + "[0-9]?/");
        case 4 -> List.of("regex:(?i)" + w.toUpperCase() + "\\" + e);
        case 5 -> List.of("regex:" + w + "(/|\\?)x");
        case 6 -> List.of("regex:(" + w + "|" + words[r.nextInt(words.length)] + ")/"); // no run: always checked
        case 7 -> List.of("*" + e);
        default -> List.of("*/" + w + "*");
      };
      List<String> methods = r.nextInt(10) == 0 ? List.of("POST") : List.of();
      rules.add(new AccessRule("r" + i, when(List.of(), urls, List.of(), methods), AccessRule.Action.BLOCK, null,
          null));
    }
    RuleSet<AccessRule> indexed = new RuleSet<>(rules, AccessRule::when, CategoryDb.EMPTY, ZoneId.of("UTC"));
    List<Matcher> linear = rules.stream().map(x -> new Matcher(x.when(), CategoryDb.EMPTY, ZoneId.of("UTC"))).toList();
    RuleIndex index = new RuleIndex(rules.stream().map(AccessRule::when).toList());
    long noRun = rules.stream().filter(x -> x.when().urls().get(0).matches("regex:\\([a-z].*")).count();
    assertEquals(noRun, index.unindexed(), "only patterns without a required run are checked for every request");
    int matched = 0;
    for (int q = 0; q < 8000; q++) {
      String w = words[r.nextInt(words.length)] + r.nextInt(40);
      String path = switch (r.nextInt(5)) {
        case 0 -> "/" + w + "/x";
        case 1 -> "/a/" + w + exts[r.nextInt(exts.length)];
        case 2 -> "/" + w + "?x=1";
        case 3 -> "/" + w.toUpperCase() + exts[r.nextInt(exts.length)].toUpperCase();
        default -> "/q?" + w + "=1";
      };
      String url = "http://h" + r.nextInt(9) + ".test" + path;
      Facts f = new Facts(r.nextInt(5) == 0 ? "POST" : "GET", url, "10.0.0.1", null, List.of(), null, Instant.now());
      int expected = -1;
      for (int i = 0; i < linear.size(); i++) {
        if (linear.get(i).matches(f, CategoryDb.EMPTY)) {
          expected = i;
          break;
        }
      }
      assertEquals(expected, indexed.first(f), url);
      if (expected >= 0) {
        matched++;
      }
    }
    org.junit.jupiter.api.Assertions.assertTrue(matched > 400 && matched < 7600, "matched " + matched);
  }
}
