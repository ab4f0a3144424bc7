package io.portcullis.daemon.rules;

import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.Conditions;
import io.portcullis.daemon.config.Schedule;
import java.time.DayOfWeek;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** One rule's {@code when} compiled: every given condition must hold, and no {@code unless}. Immutable. */
final class Matcher {
  private static final Set<DayOfWeek> ALL_DAYS = Set.of(DayOfWeek.values());
  final List<HostPattern> hosts;
  final List<Pattern> urlGlobs;
  /** Globs that are a literal then one final {@code *}: matched by a prefix test, not a regex. */
  final List<String> urlPrefixes;
  final List<String> urlInfixes; // "*text*": a search, not a regex
  final List<Pattern> urlRegexes;
  final Set<String> schemes;
  final Set<Integer> ports;
  final Set<String> methods;
  final List<CidrMatcher> clients;
  final Set<String> users;
  final Set<String> groups;
  final List<String> requestMimes;
  final List<String> responseMimes;
  final List<String> fileTypes;
  final List<Pattern> fileNames;
  final Long minSize;
  final Long maxSize;
  final Set<DayOfWeek> days;
  final List<int[]> times;
  final boolean scheduled;
  final ZoneId zone;
  final long categoryMask;
  final List<Matcher> unless;
  final boolean needsResponse;
  final Conditions source;

  Matcher(Conditions c, CategoryDb categories, ZoneId zone) {
    this.source = c;
    this.hosts = c.hosts().stream().map(HostPattern::of).toList();
    this.urlPrefixes = c.urls().stream().filter(Matcher::isPrefixGlob).map(u -> u.substring(0, u.length() - 1))
        .toList();
    this.urlInfixes = c.urls().stream().filter(Matcher::isInfixGlob).map(u -> u.substring(1, u.length() - 1))
        .toList();
    this.urlGlobs = c.urls().stream().filter(u -> !u.startsWith("regex:") && !isPrefixGlob(u) && !isInfixGlob(u))
        .map(u -> Globs.compile(u, false)).toList();
    this.urlRegexes = c.urls().stream().filter(u -> u.startsWith("regex:"))
        .map(u -> Pattern.compile(u.substring(6), Pattern.DOTALL)).toList();
    this.schemes = Set.copyOf(c.schemes());
    this.ports = Set.copyOf(c.ports());
    this.methods = Set.copyOf(c.methods());
    List<CidrMatcher> cl = new ArrayList<>();
    for (Cidr cidr : c.clients()) {
      cl.add(new CidrMatcher(cidr));
    }
    this.clients = List.copyOf(cl);
    this.users = lower(c.users());
    this.groups = lower(c.groups());
    this.requestMimes = c.requestMimeTypes().stream().map(m -> m.toLowerCase(Locale.ROOT)).toList();
    this.responseMimes = c.responseMimeTypes().stream().map(m -> m.toLowerCase(Locale.ROOT)).toList();
    this.fileTypes = c.fileTypes();
    this.fileNames = c.fileNames().stream().map(f -> Globs.compile(f, false)).toList();
    this.minSize = c.minBodySize();
    this.maxSize = c.maxBodySize();
    Schedule s = c.schedule();
    this.scheduled = s != null && !(s.days().isEmpty() && s.times().isEmpty());
    Set<DayOfWeek> d = new HashSet<>();
    if (s != null) {
      for (String day : s.days()) {
        d.add(DayOfWeek.of(Schedule.DAY_NAMES.indexOf(day) + 1));
      }
    }
    this.days = d.isEmpty() ? ALL_DAYS : Set.copyOf(d);
    this.times = s == null ? List.of() : s.times().stream().map(Schedule::minutes).toList();
    this.zone = zone;
    long mask = 0;
    for (String name : c.categories()) {
      int i = categories.index(name);
      if (i >= 0) {
        mask |= 1L << i;
      }
    }
    this.categoryMask = mask;
    this.unless = c.unless().stream().map(u -> new Matcher(u, categories, zone)).toList();
    this.needsResponse = c.needsResponse();
  }

  // Empty and small sets shared or compact: a policy holds one Matcher per rule, 100 000 of them for large lists.
  private static Set<String> lower(List<String> list) {
    if (list.isEmpty()) {
      return Set.of();
    }
    Set<String> out = new HashSet<>();
    list.forEach(x -> out.add(x.toLowerCase(Locale.ROOT)));
    return Set.copyOf(out);
  }

  /** True when the conditions hold for {@code f}; a condition on the response is false before the response is known. */
  boolean matches(Facts f, CategoryDb db) {
    if (!hosts.isEmpty() && !anyHost(f.host)) {
      return false;
    }
    if (!methods.isEmpty() && !methods.contains(f.method)) {
      return false;
    }
    if (!schemes.isEmpty() && !schemes.contains(f.scheme)) {
      return false;
    }
    if (!ports.isEmpty() && !ports.contains(f.port)) {
      return false;
    }
    if (!clients.isEmpty()) {
      if (!CidrMatcher.anyMatches(clients, f.clientAddress())) {
        return false;
      }
    }
    if (!users.isEmpty() && (f.user == null || !users.contains(f.user))) {
      return false;
    }
    if (!groups.isEmpty() && f.groups.stream().noneMatch(groups::contains)) {
      return false;
    }
    if (!requestMimes.isEmpty() && !mimeMatches(requestMimes, f.requestMime)) {
      return false;
    }
    if ((!urlGlobs.isEmpty() || !urlRegexes.isEmpty() || !urlPrefixes.isEmpty() || !urlInfixes.isEmpty())
        && !anyUrl(f.url)) {
      return false;
    }
    if (categoryMask != 0 && (f.categories(db) & categoryMask) == 0) {
      return false;
    }
    if (scheduled && !inSchedule(f)) {
      return false;
    }
    if (!responseMimes.isEmpty() && (!f.response || !mimeMatches(responseMimes, f.responseMime))) {
      return false;
    }
    if (!fileTypes.isEmpty() && (!f.response || fileTypes.stream().noneMatch(t -> FileTypes.matches(t, f.fileType)))) {
      return false;
    }
    if (!fileNames.isEmpty() && (!f.response || f.fileName == null
        || fileNames.stream().noneMatch(p -> p.matcher(f.fileName).matches()))) {
      return false;
    }
    if (minSize != null && (f.bodySize < 0 || f.bodySize < minSize)) {
      return false;
    }
    if (maxSize != null && (f.bodySize < 0 || f.bodySize > maxSize)) {
      return false;
    }
    for (Matcher u : unless) {
      if (u.matches(f, db)) {
        return false;
      }
    }
    return true;
  }

  private boolean anyHost(String host) {
    for (HostPattern h : hosts) {
      if (h.matches(host)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isPrefixGlob(String u) {
    return !u.startsWith("regex:") && u.endsWith("*") && u.indexOf('*') == u.length() - 1 && u.indexOf('?') < 0;
  }

  /** {@code *text*} with no other wildcard: matched by a search. */
  private static boolean isInfixGlob(String u) {
    return !u.startsWith("regex:") && u.length() > 2 && u.startsWith("*") && u.endsWith("*")
        && u.indexOf('*', 1) == u.length() - 1 && u.indexOf('?') < 0;
  }

  /** Whether {@code text} contains {@code part}, ASCII letters compared without case, as the glob's regex would. */
  static boolean containsAsciiIgnoreCase(String text, String part) {
    int n = part.length();
    outer:
    for (int i = 0, last = text.length() - n; i <= last; i++) {
      for (int k = 0; k < n; k++) {
        char a = text.charAt(i + k);
        char b = part.charAt(k);
        if (a != b && asciiLower(a) != asciiLower(b)) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
  }

  private boolean anyUrl(String url) {
    for (String p : urlInfixes) {
      if (containsAsciiIgnoreCase(url, p)) {
        return true;
      }
    }
    for (String p : urlPrefixes) {
      if (url.regionMatches(true, 0, p, 0, p.length())) {
        return true;
      }
    }
    for (Pattern p : urlGlobs) {
      if (p.matcher(url).matches()) { // a glob matches the whole URL
        return true;
      }
    }
    for (Pattern p : urlRegexes) {
      if (p.matcher(url).find()) { // a regex: is searched in it
        return true;
      }
    }
    return false;
  }

  private static boolean mimeMatches(List<String> wanted, String actual) {
    if (actual == null) {
      return false;
    }
    for (String w : wanted) {
      if (w.endsWith("/*") ? actual.startsWith(w.substring(0, w.length() - 1)) : w.equals(actual)) {
        return true;
      }
    }
    return false;
  }

  private boolean inSchedule(Facts f) {
    ZonedDateTime t = f.time.atZone(zone);
    int minute = t.getHour() * 60 + t.getMinute();
    DayOfWeek today = t.getDayOfWeek();
    if (times.isEmpty()) {
      return days.contains(today);
    }
    for (int[] r : times) {
      if (r[0] < r[1]) {
        if (days.contains(today) && minute >= r[0] && minute < r[1]) {
          return true;
        }
      } else {
        // Crosses midnight: the evening belongs to today, the early morning to the day before.
        if (days.contains(today) && minute >= r[0]) {
          return true;
        }
        if (days.contains(today.minus(1)) && minute < r[1]) {
          return true;
        }
      }
    }
    return false;
  }
}
