package io.portcullis.daemon.events;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * One decision on one piece of traffic: what the journal keeps, {@code show events} shows and the syslog targets send.
 * Strings are null when unknown; numbers are -1 when unknown. {@code source}: {@code proxy} (a request through this
 * node's proxy, with its ICAP answers folded in) or {@code icap} (an ICAP transaction from another client, e.g. Squid).
 * {@code ruleType}: bypass, access, protection, or proxy (the proxy's own checks: clients, ports, authentication).
 * {@code action}: allow, block, redirect or error. {@code tls}: what HTTPS inspection did with the tunnel the
 * request came through or is (inspect, tunnel, block, error; null: not HTTPS through this proxy), {@code sni}: the
 * server name its ClientHello asked for. {@code groups}: the user's groups, comma-separated, as rules matched them.
 */
public record TrafficEvent(
    Instant time,
    String node,
    String source,
    String clientIp,
    String user,
    String method,
    String url,
    String host,
    String category,
    String ruleType,
    String rule,
    String action,
    String threat,
    String mime,
    String fileType,
    int status,
    long bytesIn,
    long bytesOut,
    long icapMicros,
    long upstreamMicros,
    long durationMicros,
    String tls,
    String sni,
    String groups) {

  /** An event with no TLS decision (plain HTTP, ICAP). */
  public TrafficEvent(Instant time, String node, String source, String clientIp, String user, String method,
      String url, String host, String category, String ruleType, String rule, String action, String threat,
      String mime, String fileType, int status, long bytesIn, long bytesOut, long icapMicros, long upstreamMicros,
      long durationMicros) {
    this(time, node, source, clientIp, user, method, url, host, category, ruleType, rule, action, threat, mime,
        fileType, status, bytesIn, bytesOut, icapMicros, upstreamMicros, durationMicros, null, null, null);
  }

  /** An event with no groups known. */
  public TrafficEvent(Instant time, String node, String source, String clientIp, String user, String method,
      String url, String host, String category, String ruleType, String rule, String action, String threat,
      String mime, String fileType, int status, long bytesIn, long bytesOut, long icapMicros, long upstreamMicros,
      long durationMicros, String tls, String sni) {
    this(time, node, source, clientIp, user, method, url, host, category, ruleType, rule, action, threat, mime,
        fileType, status, bytesIn, bytesOut, icapMicros, upstreamMicros, durationMicros, tls, sni, null);
  }

  /** {@code groups} as the event's field: comma-separated, null when there are none. */
  public static String groups(java.util.List<String> groups) {
    return groups == null || groups.isEmpty() ? null : String.join(", ", groups);
  }

  /**
   * About the heap this event holds while it waits in a queue: the record and the strings that vary per request
   * (the others are shared). What the queues are bounded by, so that long URLs cannot fill the heap.
   */
  public int weight() {
    return 200 + size(url) + size(host) + size(clientIp) + size(user) + size(rule) + size(category) + size(threat)
        + size(mime) + size(fileType) + size(sni) + size(groups);
  }

  private static int size(String s) {
    return s == null ? 0 : 40 + s.length();
  }

  /** The event as a JSON object (what the admin API answers); unknowns are left out. */
  public JsonObject toJson() {
    return new JsonObject(jsonLine());
  }

  /**
   * The event as one line of JSON (a journal line, the body of a JSON syslog message); unknowns are left out. Built
   * by hand: the events thread does this for every event, and building a JsonObject first costs several times more.
   */
  public String jsonLine() {
    return appendJson(new StringBuilder(384)).toString();
  }

  /** Appends {@link #jsonLine} to {@code b} (the journal builds a batch of events in one builder); returns b. */
  public StringBuilder appendJson(StringBuilder b) {
    b.append("{\"time\":\"");
    appendTime(b, time);
    b.append('"');
    str(b, "node", node);
    str(b, "source", source);
    str(b, "clientIp", clientIp);
    str(b, "user", user);
    str(b, "groups", groups);
    str(b, "method", method);
    str(b, "url", url);
    str(b, "host", host);
    str(b, "category", category);
    str(b, "ruleType", ruleType);
    str(b, "rule", rule);
    str(b, "action", action);
    str(b, "threat", threat);
    str(b, "mime", mime);
    str(b, "fileType", fileType);
    if (status >= 0) {
      b.append(",\"status\":").append(status);
    }
    num(b, "bytesIn", bytesIn);
    num(b, "bytesOut", bytesOut);
    num(b, "icapMicros", icapMicros);
    num(b, "upstreamMicros", upstreamMicros);
    num(b, "durationMicros", durationMicros);
    str(b, "tls", tls);
    str(b, "sni", sni);
    return b.append('}');
  }

  /** The second an event's time string was last made for: its text up to the seconds, shared by the events of it. */
  private record Second(long epochSecond, String prefix) {
  }

  private static volatile Second second = new Second(Long.MIN_VALUE, "");

  /**
   * Appends exactly what {@code Instant.toString()} gives, formatting the date and time once per second: formatting
   * every event's time was an eighth of the events thread's work at 30 000 ICAP transactions a second.
   */
  static void appendTime(StringBuilder b, Instant t) {
    int nanos = t.getNano();
    if (nanos % 1_000_000 != 0) {
      b.append(t); // finer than milliseconds: rare (event times are taken in milliseconds)
      return;
    }
    Second s = second;
    if (s.epochSecond() != t.getEpochSecond()) {
      String whole = Instant.ofEpochSecond(t.getEpochSecond()).toString(); // "2026-11-29T14:54:09Z"
      s = new Second(t.getEpochSecond(), whole.substring(0, whole.length() - 1));
      second = s;
    }
    b.append(s.prefix());
    if (nanos != 0) {
      int ms = nanos / 1_000_000;
      b.append('.').append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10)).append((char) ('0' + ms % 10));
    }
    b.append('Z');
  }

  private static void str(StringBuilder b, String key, String value) {
    if (value == null || value.isEmpty()) {
      return;
    }
    b.append(",\"").append(key).append("\":\"");
    if (plain(value)) {
      b.append(value).append('"'); // the usual case, copied whole
      return;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }

  /** The Latin-1 characters a JSON string must escape: one look-up per character instead of five compares. */
  private static final boolean[] ESCAPED = new boolean[256];

  static {
    for (int c = 0; c < 0x20; c++) {
      ESCAPED[c] = true;
    }
    ESCAPED['"'] = true;
    ESCAPED['\\'] = true;
  }

  /** True when no character of {@code v} needs escaping in a JSON string. */
  private static boolean plain(String v) {
    for (int i = 0, n = v.length(); i < n; i++) {
      char c = v.charAt(i);
      if (c < 256 ? ESCAPED[c] : c == 0x2028 || c == 0x2029) {
        return false;
      }
    }
    return true;
  }

  private static void num(StringBuilder b, String key, long value) {
    if (value >= 0) {
      b.append(",\"").append(key).append("\":").append(value);
    }
  }

  /** Reads what {@link #toJson} wrote (a journal line). */
  public static TrafficEvent fromJson(JsonObject o) {
    return new TrafficEvent(Instant.parse(o.getString("time")), o.getString("node"), o.getString("source"),
        o.getString("clientIp"), o.getString("user"), o.getString("method"), o.getString("url"), o.getString("host"),
        o.getString("category"), o.getString("ruleType"), o.getString("rule"), o.getString("action"),
        o.getString("threat"), o.getString("mime"), o.getString("fileType"), o.getInteger("status", -1),
        o.getLong("bytesIn", -1L), o.getLong("bytesOut", -1L), o.getLong("icapMicros", -1L),
        o.getLong("upstreamMicros", -1L), o.getLong("durationMicros", -1L), o.getString("tls"), o.getString("sni"),
        o.getString("groups"));
  }
}
