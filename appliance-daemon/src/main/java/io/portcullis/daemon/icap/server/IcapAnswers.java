package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.DecisionHeaders;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.runtime.Version;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The ICAP server's answers, built from plain values: the headers every answer carries (with the decision for our
 * proxy, see {@link DecisionHeaders}), OPTIONS, the block page, the redirect, and the answers that close.
 */
final class IcapAnswers {
  static final String SERVER = "Portcullis/" + Version.get();
  /** The interim answer that asks for the rest of a body after its preview. */
  static final byte[] CONTINUE = "ICAP/1.0 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private IcapAnswers() {
  }

  /** A final answer without a transaction to speak of (400, 408), after which the connection closes. */
  static byte[] closing(int code, String reason, String istag) {
    return ("ICAP/1.0 " + code + " " + reason + "\r\nServer: " + SERVER + "\r\nISTag: " + istag
        + "\r\nConnection: close\r\nEncapsulated: null-body=0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /**
   * Whether a decision says more than a plain allow (a rule, category, threat or file type, or another action): a
   * plain allow goes as the 204 encoded once per commit, the hot path's answer; the proxy reads no headers as allow.
   */
  static boolean worthTelling(IcapVerdict v, String action, String fileType) {
    return v.threat() != null || v.bypassRule() != null || v.ruleName() != null || v.category() != null
        || fileType != null || !action.equals("allow");
  }

  /**
   * An answer's ICAP headers: ISTag and Server, a threat as c-icap tells it, and when {@code action} is not null the
   * decision headers for our proxy.
   */
  static Headers headers(String istag, IcapVerdict v, String fileType, String action) {
    String threat = v.threat();
    if (threat == null && action == null) {
      return Headers.of("ISTag", istag, "Server", SERVER);
    }
    List<String> h = new ArrayList<>(16);
    h.add("ISTag");
    h.add(istag);
    h.add("Server");
    h.add(SERVER);
    if (threat != null) {
      // As c-icap's virus_scan sends it: Squid can log it (%adapt::<last_h) and other gateways read it.
      h.add(DecisionHeaders.INFECTION_FOUND);
      h.add("Type=0; Resolution=2; Threat=" + headerSafe(threat).replace(';', ',') + ";");
    }
    if (action != null) {
      h.add(DecisionHeaders.ACTION);
      h.add(action);
      h.add(DecisionHeaders.RULE_TYPE);
      h.add(v.ruleType());
      String rule = v.ruleName();
      if (rule != null) {
        h.add(DecisionHeaders.RULE);
        h.add(headerSafe(rule));
      }
      if (v.category() != null) {
        h.add(DecisionHeaders.CATEGORY);
        h.add(headerSafe(v.category()));
      }
      if (threat != null) {
        h.add(DecisionHeaders.THREAT);
        h.add(headerSafe(threat));
      }
      if (fileType != null) {
        h.add(DecisionHeaders.FILE_TYPE);
        h.add(headerSafe(fileType));
      }
    }
    return Headers.of(h.toArray(new String[0]));
  }

  /** The OPTIONS answer of the service for {@code method} (REQMOD or RESPMOD). */
  static byte[] options(IcapConfig c, String istag, String method) {
    List<String> include = new ArrayList<>();
    include.add(c.identity().clientIpHeader());
    include.addAll(c.identity().userHeaders());
    include.add("X-Authenticated-Groups");
    Headers h = Headers.of(
        "Methods", method,
        "Service", "Portcullis " + Version.get() + " " + (method.equals("REQMOD") ? "request" : "response")
            + " filter",
        "ServiceId", "portcullis-" + method.toLowerCase(),
        "ISTag", istag,
        "Max-Connections", Integer.toString(c.maxConnections()),
        "Options-TTL", Long.toString(c.optionsTtl().toSeconds()),
        "Allow", "204",
        "Preview", Integer.toString(c.preview()),
        "Transfer-Preview", "*",
        "X-Include", String.join(", ", include),
        "Date", now(),
        "Server", SERVER);
    return IcapEncoder.encode(new IcapResponse(200, "OK", h, null, null, BodyKind.NULL_BODY));
  }

  /** The block page's HTML for {@code page}, about the message {@code facts} tell, for {@code who}. */
  static byte[] blockPage(IcapVerdict.Page page, Facts facts, Requester who, String node) {
    Map<String, String> values = new HashMap<>();
    values.put("URL", facts.url());
    values.put("RULE_NAME", page.rule());
    values.put("CATEGORY", page.category());
    values.put("THREAT", page.threat());
    values.put("CLIENT_IP", who.clientIp());
    values.put("USER_NAME", who.user());
    values.put("METHOD", facts.method());
    values.put("MIME_TYPE", facts.responseMime());
    values.put("DATE", now());
    values.put("SERVER_NAME", node);
    values.put("APPLICATION", "Portcullis " + Version.get());
    BlockPage template = page.template() == null ? BlockPage.DEFAULT : page.template();
    return template.render(values).getBytes(StandardCharsets.UTF_8);
  }

  /** The HTTP head of a block page of {@code length} bytes, naming {@code rule}. */
  static HttpHead blockHead(String rule, int length) {
    return HttpHead.response(403, "Forbidden", Headers.of(
        "Content-Type", "text/html; charset=utf-8",
        "Content-Length", Integer.toString(length),
        "Cache-Control", "no-store",
        DecisionHeaders.RULE, headerSafe(rule)));
  }

  /** The HTTP head of a redirect to {@code access}'s location, naming its rule. */
  static HttpHead redirectHead(Decision access) {
    return HttpHead.response(302, "Found", Headers.of(
        "Location", access.location(),
        "Content-Length", "0",
        "Cache-Control", "no-store",
        DecisionHeaders.RULE, headerSafe(access.rule())));
  }

  /** {@code text} fit for a header value: printable ASCII, "-" for none. */
  private static String headerSafe(String text) {
    return text == null ? "-" : text.replaceAll("[^\\x20-\\x7e]", "?");
  }

  /** The time now as HTTP dates are written. */
  private static String now() {
    return DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().atOffset(ZoneOffset.UTC));
  }
}
