package io.portcullis.daemon.icap.codec;

/**
 * The contract between Portcullis's proxy and its ICAP server, on top of RFC 3507: the headers only they exchange.
 * The proxy marks its requests with {@link #EVENTS} (it records the traffic event itself, with what the user got);
 * the server then answers its decision in the others instead of recording the event twice. Other ICAP clients never
 * send {@link #EVENTS}, so they get plain answers and the server records their events.
 */
public final class DecisionHeaders {
  /** On a request: the client records the traffic event itself (any value). */
  public static final String EVENTS = "X-Portcullis-Events";
  /** On an answer: the decision, {@code allow}, {@code block} or {@code redirect}. */
  public static final String ACTION = "X-Portcullis-Action";
  /** On an answer: the kind of rule that decided ({@code bypass}, {@code access}, {@code protection}) or {@code none}. */
  public static final String RULE_TYPE = "X-Portcullis-Rule-Type";
  /** On an answer, and on a block page or redirect it carries: the name of the rule that decided. */
  public static final String RULE = "X-Portcullis-Rule";
  /** On an answer: the URL category that matched. */
  public static final String CATEGORY = "X-Portcullis-Category";
  /** On an answer: the threat a scan found. */
  public static final String THREAT = "X-Portcullis-Threat";
  /** On an answer: the true file type of the body. */
  public static final String FILE_TYPE = "X-Portcullis-File-Type";
  /** c-icap's threat header ({@code Type=0; Resolution=2; Threat=NAME;}), which we send too and read from others. */
  public static final String INFECTION_FOUND = "X-Infection-Found";

  private static final java.util.regex.Pattern THREAT_NAME = java.util.regex.Pattern.compile("Threat=([^;]*)");

  /** A decision as an answer states it; null fields: not said. */
  public record Decision(String action, String ruleType, String rule, String category, String threat,
      String fileType) {
  }

  /**
   * What answer {@code r} decided: our server's headers, else c-icap's X-Infection-Found, else the answer's kind (a
   * message of its own blocks or redirects; a RESPMOD echoing {@code originStatus}, or a 204, allows).
   * {@code ruleType} is null when the server says {@code none} or nothing.
   */
  public static Decision read(IcapResponse r, int originStatus) {
    Headers h = r.headers();
    String action = h.get(ACTION);
    String infection = h.get(INFECTION_FOUND);
    if (action == null) {
      int st = r.status() == 200 && r.httpResponse() != null ? r.httpResponse().status() : -1;
      action = infection != null ? "block" : st < 0 || st == originStatus ? "allow"
          : st >= 300 && st < 400 ? "redirect" : "block";
    }
    String rt = h.get(RULE_TYPE);
    String threat = h.get(THREAT);
    if (threat == null && infection != null) {
      java.util.regex.Matcher m = THREAT_NAME.matcher(infection);
      threat = m.find() ? m.group(1).strip() : infection;
    }
    return new Decision(action, rt == null || rt.equals("none") ? null : rt, h.get(RULE), h.get(CATEGORY), threat,
        h.get(FILE_TYPE));
  }

  private DecisionHeaders() {
  }
}
