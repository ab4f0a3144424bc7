package io.portcullis.daemon.events;

/**
 * A traffic event as one line of ArcSight's Common Event Format (CEF 0), the body of a CEF syslog message:
 * {@code CEF:0|Portcullis|Portcullis|<version>|<signatureId>|<name>|<severity>|<extension>}.
 *
 * <p>Header fields escape {@code \} and {@code |} as {@code \\} and {@code \|}; line breaks become spaces (a header
 * may not hold them). Extension values escape {@code \}, {@code =}, newline and carriage return as {@code \\},
 * {@code \=}, {@code \n} and {@code \r}; a pipe needs no escaping there. Fields the event does not know are left out.
 *
 * <p>Header:
 * <table>
 * <caption>CEF header</caption>
 * <tr><th>Field</th><th>Value</th></tr>
 * <tr><td>Device Vendor, Product</td><td>{@code Portcullis}, {@code Portcullis}</td></tr>
 * <tr><td>Device Version</td><td>the node's version</td></tr>
 * <tr><td>Signature ID</td><td>{@code ruleType-action} ({@code access-block}, {@code protection-block},
 *     {@code bypass-allow}, {@code proxy-block} ...), or {@code action} alone when no rule decided</td></tr>
 * <tr><td>Name</td><td>Threat blocked, Blocked by access rule, Blocked by protection rule, Blocked by the proxy,
 *     Blocked, Redirected, Bypassed, Allowed, Error</td></tr>
 * <tr><td>Severity</td><td>8 a threat blocked, 5 other blocks, 4 error, 3 redirect, 1 allow</td></tr>
 * </table>
 *
 * <p>Extension (in this order, each only when known):
 * <table>
 * <caption>CEF extension keys</caption>
 * <tr><th>CEF key</th><th>Event field</th><th>Meaning</th></tr>
 * <tr><td>rt</td><td>time</td><td>when the decision was taken, epoch milliseconds</td></tr>
 * <tr><td>dvchost</td><td>node</td><td>the Portcullis node</td></tr>
 * <tr><td>src</td><td>clientIp</td><td>the client's address</td></tr>
 * <tr><td>suser</td><td>user</td><td>the authenticated user</td></tr>
 * <tr><td>requestMethod</td><td>method</td><td>the HTTP method</td></tr>
 * <tr><td>request</td><td>url</td><td>the requested URL</td></tr>
 * <tr><td>dhost</td><td>host</td><td>the requested host</td></tr>
 * <tr><td>act</td><td>action</td><td>allow, block, redirect or error</td></tr>
 * <tr><td>cat</td><td>category</td><td>the URL category</td></tr>
 * <tr><td>cs1Label=ruleType cs1</td><td>ruleType</td><td>bypass, access, protection, tls or proxy</td></tr>
 * <tr><td>cs2Label=rule cs2</td><td>rule</td><td>the name of the rule that decided</td></tr>
 * <tr><td>cs3Label=threat cs3</td><td>threat</td><td>the threat found</td></tr>
 * <tr><td>cs4Label=contentType cs4</td><td>mime</td><td>the declared content type</td></tr>
 * <tr><td>cs5Label=source cs5</td><td>source</td><td>{@code proxy} or {@code icap}</td></tr>
 * <tr><td>cs6Label=groups cs6</td><td>groups</td><td>the user's groups, comma-separated</td></tr>
 * <tr><td>fileType</td><td>fileType</td><td>the true file type (from the content)</td></tr>
 * <tr><td>cn1Label=httpStatus cn1</td><td>status</td><td>the HTTP status sent to the client</td></tr>
 * <tr><td>in</td><td>bytesIn</td><td>bytes received</td></tr>
 * <tr><td>out</td><td>bytesOut</td><td>bytes sent</td></tr>
 * <tr><td>cn2Label=icapMicros cn2</td><td>icapMicros</td><td>time spent in ICAP, microseconds</td></tr>
 * <tr><td>cn3Label=upstreamMicros cn3</td><td>upstreamMicros</td><td>time spent upstream, microseconds</td></tr>
 * </table>
 */
public final class Cef {
  private Cef() {
  }

  /** The CEF line for {@code e}, naming {@code version} as the device version. */
  public static String format(TrafficEvent e, String version) {
    StringBuilder sb = new StringBuilder(256);
    appendTo(sb, e, version);
    return sb.toString();
  }

  /** Appends the CEF line for {@code e} to {@code sb} (no line break). */
  public static void appendTo(StringBuilder sb, TrafficEvent e, String version) {
    sb.append("CEF:0|Portcullis|Portcullis|");
    header(sb, version == null ? "" : version);
    sb.append('|');
    header(sb, signatureId(e));
    sb.append('|');
    header(sb, name(e));
    sb.append('|').append(severity(e)).append('|');
    int start = sb.length();
    if (e.time() != null) {
      num(sb, start, "rt", e.time().toEpochMilli());
    }
    str(sb, start, "dvchost", e.node());
    str(sb, start, "src", e.clientIp());
    str(sb, start, "suser", e.user());
    str(sb, start, "requestMethod", e.method());
    str(sb, start, "request", e.url());
    str(sb, start, "dhost", e.host());
    str(sb, start, "act", e.action());
    str(sb, start, "cat", e.category());
    labelled(sb, start, "cs1", "ruleType", e.ruleType());
    labelled(sb, start, "cs2", "rule", e.rule());
    labelled(sb, start, "cs3", "threat", e.threat());
    labelled(sb, start, "cs4", "contentType", e.mime());
    labelled(sb, start, "cs5", "source", e.source()); // not app: in ArcSight's dictionary that is the protocol
    labelled(sb, start, "cs6", "groups", e.groups());
    str(sb, start, "fileType", e.fileType());
    labelled(sb, start, "cn1", "httpStatus", e.status());
    num(sb, start, "in", e.bytesIn());
    num(sb, start, "out", e.bytesOut());
    labelled(sb, start, "cn2", "icapMicros", e.icapMicros());
    labelled(sb, start, "cn3", "upstreamMicros", e.upstreamMicros());
  }

  /** {@code ruleType-action} when a rule type is known, else the action ({@code unknown} when neither is). */
  public static String signatureId(TrafficEvent e) {
    String action = known(e.action()) ? e.action() : "unknown";
    return known(e.ruleType()) ? e.ruleType() + "-" + action : action;
  }

  /** A short human phrase for the decision. */
  public static String name(TrafficEvent e) {
    String action = e.action() == null ? "" : e.action();
    String ruleType = e.ruleType() == null ? "" : e.ruleType();
    switch (action) {
      case "block":
        if (known(e.threat())) {
          return "Threat blocked";
        }
        return switch (ruleType) {
          case "access" -> "Blocked by access rule";
          case "protection" -> "Blocked by protection rule";
          case "proxy" -> "Blocked by the proxy";
          case "tls" -> "Blocked by TLS rule";
          default -> "Blocked";
        };
      case "redirect":
        return "Redirected";
      case "error":
        return "Error";
      case "allow":
        return ruleType.equals("bypass") ? "Bypassed" : "Allowed";
      default:
        return known(e.action()) ? e.action() : "Unknown";
    }
  }

  /** CEF severity 0-10: a threat blocked 8, other blocks 5, error 4, redirect 3, anything else 1. */
  public static int severity(TrafficEvent e) {
    String action = e.action() == null ? "" : e.action();
    return switch (action) {
      case "block" -> known(e.threat()) ? 8 : 5;
      case "error" -> 4;
      case "redirect" -> 3;
      default -> 1;
    };
  }

  private static boolean known(String s) {
    return s != null && !s.isEmpty();
  }

  private static void header(StringBuilder sb, String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '|' -> sb.append("\\|");
        case '\n', '\r' -> sb.append(' ');
        default -> sb.append(c);
      }
    }
  }

  private static void str(StringBuilder sb, int start, String key, String value) {
    if (!known(value)) {
      return;
    }
    if (sb.length() > start) {
      sb.append(' ');
    }
    sb.append(key).append('=');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '=' -> sb.append("\\=");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        default -> sb.append(c);
      }
    }
  }

  private static void labelled(StringBuilder sb, int start, String key, String label, String value) {
    if (known(value)) {
      str(sb, start, key + "Label", label);
      str(sb, start, key, value);
    }
  }

  private static void labelled(StringBuilder sb, int start, String key, String label, long value) {
    if (value >= 0) {
      str(sb, start, key + "Label", label);
      num(sb, start, key, value);
    }
  }

  private static void num(StringBuilder sb, int start, String key, long value) {
    if (value >= 0) {
      if (sb.length() > start) {
        sb.append(' ');
      }
      sb.append(key).append('=').append(value);
    }
  }
}
