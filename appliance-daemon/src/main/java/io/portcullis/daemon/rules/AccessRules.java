package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.Conditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code rules.access} compiled for matching: the first rule whose conditions all hold decides; none → allow.
 * Immutable and thread-safe; a commit compiles a new one.
 */
public final class AccessRules {
  private static final Logger LOG = LoggerFactory.getLogger(AccessRules.class);
  public static final AccessRules NONE = new AccessRules(List.of());

  private final List<Compiled> rules;

  private record Compiled(AccessRule rule, Decision decision, List<HostPattern> hosts, List<Pattern> urls,
      Set<String> methods, List<CidrMatcher> clients, boolean hasCategories) {

    boolean matches(RequestFacts f, byte[] client) {
      if (hasCategories) {
        return false; // URL categories are not loaded yet (rules engine issue): such a rule cannot match
      }
      if (!hosts.isEmpty() && hosts.stream().noneMatch(h -> h.matches(f.host()))) {
        return false;
      }
      if (!methods.isEmpty() && !methods.contains(f.method())) {
        return false;
      }
      if (!clients.isEmpty() && clients.stream().noneMatch(c -> c.matches(client))) {
        return false;
      }
      return urls.isEmpty() || urls.stream().anyMatch(p -> p.matcher(f.url()).matches());
    }
  }

  private AccessRules(List<Compiled> rules) {
    this.rules = rules;
  }

  /** Compiles validated rules. */
  public static AccessRules compile(List<AccessRule> access) {
    List<Compiled> out = new ArrayList<>();
    for (AccessRule r : access) {
      Conditions w = r.when();
      List<HostPattern> hosts = w.hosts().stream().map(HostPattern::of).toList();
      List<Pattern> urls = w.urls().stream().map(u -> u.startsWith("regex:")
          ? Pattern.compile(".*(?:" + u.substring(6) + ").*", Pattern.DOTALL) : Globs.compile(u, true)).toList();
      List<CidrMatcher> clients = new ArrayList<>();
      for (Cidr c : w.clients()) {
        clients.add(new CidrMatcher(c));
      }
      if (!w.categories().isEmpty()) {
        LOG.warn("access rule \"{}\" uses when.categories, which this build does not evaluate: it never matches",
            r.name());
      }
      out.add(new Compiled(r, new Decision(r.action(), r.name(), r.location() == null ? null : r.location().toString()),
          hosts, urls, Set.copyOf(w.methods().stream().map(m -> m.toUpperCase(Locale.ROOT)).toList()), clients,
          !w.categories().isEmpty()));
    }
    return new AccessRules(List.copyOf(out));
  }

  /** The decision for {@code facts}: the first matching rule's, or {@link Decision#DEFAULT_ALLOW}. */
  public Decision decide(RequestFacts facts) {
    byte[] client = rules.isEmpty() ? null : CidrMatcher.literal(facts.clientIp());
    for (Compiled c : rules) {
      if (c.matches(facts, client)) {
        return c.decision();
      }
    }
    return Decision.DEFAULT_ALLOW;
  }

  public int size() {
    return rules.size();
  }
}
