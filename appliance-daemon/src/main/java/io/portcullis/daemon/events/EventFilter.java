package io.portcullis.daemon.events;

import java.time.Instant;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Which events {@code show events} wants: every given field must hold. {@code client}: an address or a CIDR;
 * {@code host}: the host or a parent domain ({@code example.com} takes {@code www.example.com}); {@code url}: a part
 * of the URL; {@code threat}: a part of the threat name, or {@code *} for any threat; the rest: equal (ignoring case).
 */
public record EventFilter(String client, String user, String host, String action, String ruleType, String rule,
    String source, String url, String threat, Instant since, Instant until, String node)
    implements Predicate<TrafficEvent> {
  // Compiled on first use; a record's fields are final, so this lives outside them (a benign race at worst).
  private static final java.util.Map<String, io.portcullis.daemon.rules.CidrMatcher> CIDRS =
      new java.util.concurrent.ConcurrentHashMap<>();

  public static final EventFilter ALL = new EventFilter(null, null, null, null, null, null, null, null, null, null,
      null);

  /** Every node's events (on a control node, its nodes' too). */
  public EventFilter(String client, String user, String host, String action, String ruleType, String rule,
      String source, String url, String threat, Instant since, Instant until) {
    this(client, user, host, action, ruleType, rule, source, url, threat, since, until, null);
  }

  @Override
  public boolean test(TrafficEvent e) {
    return (since == null || !e.time().isBefore(since)) && (until == null || e.time().isBefore(until))
        && same(user, e.user()) && same(action, e.action()) && same(ruleType, e.ruleType()) && same(rule, e.rule())
        && same(source, e.source()) && hostMatches(e.host()) && part(url, e.url()) && threatMatches(e.threat())
        && clientMatches(e.clientIp()) && same(node, e.node());
  }

  /**
   * A string the JSON line of every accepted event contains (so the journal parses only candidates), or null: only
   * an exact client address qualifies (the other fields match ignoring case, or by parts).
   */
  public String hint() {
    return client != null && !client.contains("/") && client.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"'
        && c != '\\') ? "\"clientIp\":\"" + client + '"' : null;
  }

  private static boolean same(String want, String have) {
    return want == null || have != null && want.equalsIgnoreCase(have);
  }

  private static boolean part(String want, String have) {
    return want == null || have != null && have.toLowerCase(Locale.ROOT).contains(want.toLowerCase(Locale.ROOT));
  }

  private boolean threatMatches(String have) {
    return threat == null || have != null && (threat.equals("*") || part(threat, have));
  }

  private boolean hostMatches(String have) {
    if (host == null) {
      return true;
    }
    if (have == null) {
      return false;
    }
    String h = have.toLowerCase(Locale.ROOT);
    String w = host.toLowerCase(Locale.ROOT);
    return h.equals(w) || h.endsWith("." + w);
  }

  private boolean clientMatches(String have) {
    if (client == null) {
      return true;
    }
    if (have == null) {
      return false;
    }
    if (client.indexOf('/') < 0) {
      return client.equalsIgnoreCase(have);
    }
    io.portcullis.daemon.rules.CidrMatcher cidr;
    if (CIDRS.size() > 256) {
      CIDRS.clear(); // filters come from admins; keep the cache small anyway
    }
    try {
      cidr = CIDRS.computeIfAbsent(client, c -> new io.portcullis.daemon.rules.CidrMatcher(
          io.portcullis.daemon.config.Cidr.parse(c)));
    } catch (RuntimeException e) {
      return false; // problem() says why
    }
    byte[] ip = io.portcullis.daemon.rules.CidrMatcher.literal(have); // a literal only: never a DNS lookup
    return ip != null && cidr.matches(ip);
  }

  /** Checks what a filter can only get wrong in its text: the client CIDR. Returns null when fine, else why not. */
  public String problem() {
    if (client != null && client.contains("/")) {
      try {
        io.portcullis.daemon.config.Cidr.parse(client);
      } catch (RuntimeException e) {
        return "client " + client + " is not an address or a CIDR";
      }
    }
    return null;
  }
}
