package io.portcullis.daemon.events;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Which events {@code show events} wants: every given field must hold. {@code client}: an address or a CIDR;
 * {@code host}: the host or a parent domain ({@code example.com} takes {@code www.example.com}); {@code url}: a part
 * of the URL; {@code threat}: a part of the threat name, or {@code *} for any threat; the rest: equal (ignoring case).
 */
public record EventFilter(String client, String user, String host, String action, String ruleType, String rule,
    String source, String url, String threat, Instant since, Instant until) implements Predicate<TrafficEvent> {

  public static final EventFilter ALL = new EventFilter(null, null, null, null, null, null, null, null, null, null,
      null);

  @Override
  public boolean test(TrafficEvent e) {
    return (since == null || !e.time().isBefore(since)) && (until == null || e.time().isBefore(until))
        && same(user, e.user()) && same(action, e.action()) && same(ruleType, e.ruleType()) && same(rule, e.rule())
        && same(source, e.source()) && hostMatches(e.host()) && part(url, e.url()) && threatMatches(e.threat())
        && clientMatches(e.clientIp());
  }

  /** A string the JSON line of every accepted event contains (so the journal parses only candidates), or null. */
  public String hint() {
    for (String s : new String[] {rule, user, client == null || client.contains("/") ? null : client, url}) {
      if (s != null && !s.isEmpty() && s.chars().allMatch(c -> c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
          && c != '/')) {
        return s;
      }
    }
    return null;
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
    int slash = client.indexOf('/');
    if (slash < 0) {
      return client.equalsIgnoreCase(have);
    }
    try {
      byte[] net = InetAddress.getByName(client.substring(0, slash)).getAddress();
      byte[] ip = InetAddress.getByName(have).getAddress();
      int bits = Integer.parseInt(client.substring(slash + 1));
      if (net.length != ip.length || bits < 0 || bits > net.length * 8) {
        return false;
      }
      for (int i = 0; i < bits; i++) {
        int mask = 0x80 >> (i % 8);
        if ((net[i / 8] & mask) != (ip[i / 8] & mask)) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false; // only literals reach here: the admin API checks the filter first
    }
  }

  /** Checks what a filter can only get wrong in its text: the client CIDR. Returns null when fine, else why not. */
  public String problem() {
    if (client != null && client.contains("/")) {
      String[] p = client.split("/", 2);
      if (!io.portcullis.daemon.config.Addresses.isIpv4Literal(p[0])
          && !io.portcullis.daemon.config.Addresses.isIpv6Literal(p[0]) || !p[1].matches("\\d{1,3}")) {
        return "client " + client + " is not an address or a CIDR";
      }
    }
    return null;
  }
}
