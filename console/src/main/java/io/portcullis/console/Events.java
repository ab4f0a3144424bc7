package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** {@code show events [follow] [N] [FILTER VALUE ...]}: traffic decisions from the daemon's journal. */
record Events(boolean follow, int limit, String query) implements Action {
  /** The filters the admin API's events call takes, in the order help lists them. */
  static final List<String> FILTERS = List.of("client", "user", "host", "action", "type", "rule", "source", "url",
      "threat", "since", "until", "node");

  /** The arguments: follow, a count (at most 10000), filter pairs; {@code threat any} is any threat. */
  static Events parse(List<String> args) {
    boolean follow = false;
    int n = 20;
    StringBuilder query = new StringBuilder();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("follow")) {
        follow = true;
      } else if (a.matches("\\d{1,9}")) {
        n = Math.max(1, Math.min(10_000, Integer.parseInt(a)));
      } else if (FILTERS.contains(a) && i + 1 < args.size()) {
        String v = args.get(++i);
        if (a.equals("threat") && v.equals("any")) {
          v = "*";
        }
        query.append('&').append(a).append('=').append(URLEncoder.encode(v, StandardCharsets.UTF_8));
      } else {
        throw new UsageError("show events: unexpected \"" + a + "\"");
      }
    }
    return new Events(follow, n, query.toString());
  }

  /** Prints the last {@code limit} matching events; with follow, new ones every half second until Ctrl-C. */
  @Override
  public int run(Shell shell) throws IOException, InterruptedException {
    AdminClient.Answer a = shell.client().get("api/v1/events?limit=" + limit + query);
    if (!a.ok()) {
      return shell.failed(a);
    }
    a.body().path("events").forEach(e -> shell.out().println(line(e)));
    long last = a.body().path("last").asLong();
    while (follow && !shell.interrupted()) {
      Thread.sleep(500);
      a = shell.client().get("api/v1/events?limit=1000&after=" + last + query);
      if (!a.ok()) {
        return shell.failed(a);
      }
      if (a.body().path("missed").asLong() > 0) {
        shell.out().println("(" + a.body().path("missed").asLong() + " events missed)");
      }
      a.body().path("events").forEach(e -> shell.out().println(line(e)));
      last = a.body().path("last").asLong();
    }
    return 0;
  }

  /** One event on one line: time, source, client, user, method, URL, then the decision and its figures. */
  static String line(JsonNode e) {
    StringBuilder b = new StringBuilder(200);
    b.append(e.path("time").asText()).append(' ').append(e.path("source").asText("-")).append(' ')
        .append(e.path("clientIp").asText("-")).append(' ').append(e.path("user").asText("-")).append(' ')
        .append(e.path("method").asText("-")).append(' ').append(e.path("url").asText("-")).append(" -> ")
        .append(e.path("action").asText("-"));
    if (e.has("rule")) {
      b.append(' ').append(e.path("ruleType").asText("-")).append('/').append(e.path("rule").asText());
    }
    if (e.has("category")) {
      b.append(" category=").append(e.path("category").asText());
    }
    if (e.has("threat")) {
      b.append(" threat=\"").append(e.path("threat").asText()).append('"');
    }
    if (e.has("status")) {
      b.append(' ').append(e.path("status").asInt());
    }
    if (e.has("fileType")) {
      b.append(" type=").append(e.path("fileType").asText());
    } else if (e.has("mime")) {
      b.append(" type=").append(e.path("mime").asText());
    }
    if (e.has("bytesIn") || e.has("bytesOut")) {
      b.append(" in=").append(e.path("bytesIn").asLong(0)).append(" out=").append(e.path("bytesOut").asLong(0));
    }
    if (e.path("icapMicros").asLong(0) > 0) {
      b.append(String.format(" icap=%.1fms", e.path("icapMicros").asLong() / 1000.0));
    }
    if (e.has("upstreamMicros")) {
      b.append(String.format(" upstream=%.1fms", e.path("upstreamMicros").asLong() / 1000.0));
    }
    if (e.has("node")) {
      b.append(" node=").append(e.path("node").asText());
    }
    return b.toString();
  }
}
