package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.config.BypassRule;
import io.portcullis.daemon.config.Category;
import io.portcullis.daemon.config.ProtectionRule;
import io.portcullis.daemon.config.RulesConfig;
import io.portcullis.daemon.config.TlsRule;
import io.portcullis.daemon.pages.BlockPage;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The traffic processing rules compiled on commit: bypass, then access, then protection, each first-match, with the
 * URL categories and block-page templates they use. Plain Java, immutable, thread-safe.
 */
public final class Policy {
  public static final Policy EMPTY = new Policy(List.of(), List.of(), List.of(), List.of(), CategoryDb.EMPTY,
      ZoneId.of("UTC"), Map.of());

  private final RuleSet<BypassRule> bypass;
  private final RuleSet<AccessRule> access;
  private final RuleSet<ProtectionRule> protection;
  private final RuleSet<TlsRule> tls;
  private final CategoryDb categories;
  private final Map<String, BlockPage> templates;

  private Policy(List<BypassRule> bypass, List<AccessRule> access, List<ProtectionRule> protection,
      List<TlsRule> tls, CategoryDb categories, ZoneId zone, Map<String, BlockPage> templates) {
    this.categories = categories;
    this.bypass = new RuleSet<>(bypass, BypassRule::when, categories, zone);
    this.access = new RuleSet<>(access, AccessRule::when, categories, zone);
    this.protection = new RuleSet<>(protection, ProtectionRule::when, categories, zone);
    this.tls = new RuleSet<>(tls, TlsRule::when, categories, zone);
    this.templates = templates;
  }

  /** Problems found while compiling (files that cannot be read), each naming its config path. */
  public static final class PolicyException extends Exception {
    public PolicyException(String message) {
      super(message);
    }
  }

  /** Compiles validated rules; category and template files are read relative to {@code baseDir}. */
  public static Policy compile(RulesConfig rules, Path baseDir) throws PolicyException {
    List<String> problems = new ArrayList<>();
    List<String> names = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < rules.categories().size(); i++) {
      Category c = rules.categories().get(i);
      Path f = baseDir.resolve(c.file());
      if (!Files.isReadable(f)) {
        problems.add("rules.categories[" + i + "].file: cannot read " + f);
      }
      names.add(c.name());
      files.add(f);
    }
    Map<String, BlockPage> templates = new HashMap<>();
    for (int i = 0; i < rules.access().size(); i++) {
      readTemplate(rules.access().get(i).template(), "rules.access[" + i + "].template", baseDir, templates, problems);
    }
    for (int i = 0; i < rules.protection().size(); i++) {
      readTemplate(rules.protection().get(i).template(), "rules.protection[" + i + "].template", baseDir, templates,
          problems);
    }
    if (names.size() > 64) {
      problems.add("rules.categories: at most 64 categories, not " + names.size());
    }
    if (!problems.isEmpty()) {
      throw new PolicyException(String.join("; ", problems));
    }
    CategoryDb db;
    try {
      db = names.isEmpty() ? CategoryDb.EMPTY : CategoryDb.load(names, files);
    } catch (IOException e) {
      throw new PolicyException("rules.categories: " + e.getMessage());
    }
    return new Policy(rules.bypass(), rules.access(), rules.protection(), rules.tls(), db, ZoneId.of(rules.timeZone()),
        templates);
  }

  private static void readTemplate(String file, String path, Path baseDir, Map<String, BlockPage> out,
      List<String> problems) {
    if (file == null || out.containsKey(file)) {
      return;
    }
    try {
      out.put(file, new BlockPage(Files.readString(baseDir.resolve(file), StandardCharsets.UTF_8)));
    } catch (IOException e) {
      problems.add(path + ": cannot read " + baseDir.resolve(file) + " (" + e.getMessage() + ")");
    }
  }

  /** The bypass rule that matches, or null: a match means no access or protection processing. */
  public String bypass(Facts f) {
    int i = bypass.first(f);
    return i < 0 ? null : bypass.rule(i).name();
  }

  /** The access decision for {@code f} (first matching rule, or allow). */
  public Decision access(Facts f) {
    int i = access.first(f);
    if (i < 0) {
      return Decision.DEFAULT_ALLOW;
    }
    AccessRule r = access.rule(i);
    String category = access.category(i, f);
    String location = r.location() == null ? null : expand(r.location(), f, r.name(), category);
    BlockPage page = r.template() == null ? BlockPage.DEFAULT : templates.get(r.template());
    return new Decision(r.action(), r.name(), location, category, page);
  }

  /** Whether (and how) to scan the body for {@code f}: the first matching protection rule; none → no scan. */
  public Protection protection(Facts f) {
    int i = protection.first(f);
    if (i < 0) {
      return Protection.NO_SCAN;
    }
    ProtectionRule r = protection.rule(i);
    if (r.action() == ProtectionRule.Action.SKIP) {
      return new Protection(false, r.name(), false, null);
    }
    BlockPage page = r.template() == null ? BlockPage.DEFAULT : templates.get(r.template());
    return new Protection(true, r.name(), r.onError() == ProtectionRule.OnError.BLOCK, page);
  }

  /** A TLS rule's verdict on a tunnel: its action and name. */
  public record TlsVerdict(TlsRule.Action action, String rule) {
  }

  /** The first TLS rule that matches {@code f} (a CONNECT's facts, its host the SNI or the CONNECT host), or null. */
  public TlsVerdict tls(Facts f) {
    int i = tls.first(f);
    return i < 0 ? null : new TlsVerdict(tls.rule(i).action(), tls.rule(i).name());
  }

  /** True if there are TLS rules to judge tunnels by. */
  public boolean hasTlsRules() {
    return tls.size() > 0;
  }

  /** True if any access or protection rule needs the response: RESPMOD then cannot answer from the request alone. */
  public boolean hasProtection() {
    return protection.size() > 0;
  }

  public CategoryDb categories() {
    return categories;
  }

  public int accessRules() {
    return access.size();
  }

  /** A redirect location with its macros replaced, each value URL-encoded. */
  static String expand(String location, Facts f, String rule, String category) {
    return location
        .replace("%URL%", enc(f.url()))
        .replace("%HOST%", enc(f.host()))
        .replace("%RULE_NAME%", enc(rule))
        .replace("%CLIENT_IP%", enc(f.clientIp()))
        .replace("%USER_NAME%", enc(f.user()))
        .replace("%CATEGORY%", enc(category));
  }

  private static String enc(String s) {
    return s == null ? "" : URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
