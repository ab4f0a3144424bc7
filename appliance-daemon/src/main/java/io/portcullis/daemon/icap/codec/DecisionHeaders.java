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

  private DecisionHeaders() {
  }
}
