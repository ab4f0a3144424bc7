package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The console's commands in two modes, as on Junos: operational ({@code show …}, {@code configure}) and
 * configuration ({@code set}, {@code delete}, {@code insert}, {@code edit}/{@code up}/{@code top}, {@code show},
 * {@code compare}, {@code commit [check | confirmed N] [comment TEXT]}, {@code confirm}, {@code rollback N},
 * {@code discard}, {@code run …}, {@code exit}). Configuration mode has a session of its own on the daemon (its own
 * candidate). Everything goes through the admin API.
 */
final class Shell {
  /** What {@link #execute} returns to end the shell. */
  static final int EXIT = -1;

  static final String OPERATIONAL_HELP = """
      configure                        enter configuration mode (a candidate of your own)
      show status                      node, revision, services and their ports, pending commit confirmed
      show config [PATH ...] [| display set]
                                       the active config (YAML), or as set commands (PATH: only that part)
      show rules                       the traffic processing rules in order with their hits, then as set commands
      show balancer                    frontends and servers: state, connections, checks (on a control node,
                                       each node's balancer too)
      show cluster [join-key NODE]     control node: each node's state, revision, health (join-key: what the
                                       node needs to join); node: its link to the control node
      show haproxy-config [FRONTEND]   the balancer's layout as a haproxy.cfg
      show metrics                     the node's portcullis_* metrics
      show events [follow] [N] [FILTER VALUE ...]
                                       the last N (20) traffic decisions from the journal; follow: new ones as they
                                       come (Ctrl-C ends). FILTER: client IP|CIDR, user, host (and subdomains),
                                       action, type (rule type), rule, source (proxy|icap), url (part), threat
                                       (part, or any), since and until (instant, or back from now: 15m, 2h, 1d),
                                       node (on a control node: one node's events)
      show revisions | show revision N the revisions kept | one revision's YAML
      ping                             is the daemon there (its node, revision, answer time)
      test url URL [client IP] [user NAME]
                                       dry-run a request through the rules: which rule matches, and why
      exit                             leave the console""";

  static final String CONFIGURATION_HELP = """
      set PATH VALUE...                set a key (a named item is created: set rules access NAME action block)
      delete PATH [VALUE...]           delete a key, an item, or values of a list
      insert PATH ITEM before|after REF
                                       move a named item (rules are evaluated in order);
                                       insert rule NAME before|after REF: an access rule
      edit PATH | up | top             work under PATH (prefixed to set/delete) | one level up | back to the top
      show [| display set]             the candidate (YAML, or as set commands)
      show | compare, compare          what this session changes
      commit check                     validate the candidate
      commit [force] [confirmed MINUTES] [comment TEXT]
                                       apply it (on a control node: on every node, waiting for them); with
                                       confirmed, it reverts unless `confirm` follows in time (cluster-wide);
                                       force: on a cluster node, change what its control node owns
      confirm                          keep a commit confirmed
      rollback N                       revision N becomes the candidate
      discard                          drop this session's changes
      run COMMAND                      an operational command (run show status)
      exit                             leave configuration mode (warns once about uncommitted changes)""";

  private final AdminClient client;
  private final Main ops;
  private final PrintStream out;
  private final PrintStream err;
  private String session;
  private final List<String> edit = new ArrayList<>();
  private Schema schema;
  private boolean warnedExit;
  private volatile boolean interrupted;
  private boolean progressBar;

  Shell(AdminClient client, PrintStream out, PrintStream err, boolean remote) {
    this.client = client;
    this.out = out;
    this.err = err;
    this.ops = new Main(out, err).remote(remote);
  }

  /** On a terminal: long commands (commit) draw a progress bar from the daemon's own progress reports. */
  void progressBar(boolean on) {
    this.progressBar = on;
  }

  /** Ctrl-C while a command runs: a long command (show events follow) stops at its next step. */
  void interrupt() {
    interrupted = true;
  }

  void clearInterrupt() {
    interrupted = false;
  }

  boolean interrupted() {
    return interrupted;
  }

  boolean configuring() {
    return session != null;
  }

  List<String> editPath() {
    return List.copyOf(edit);
  }

  String session() {
    return session;
  }

  AdminClient client() {
    return client;
  }

  /** The config's key tree, fetched once. */
  Schema schema() throws IOException, InterruptedException {
    if (schema == null) {
      AdminClient.Answer a = client.get("api/v1/schema");
      if (!a.ok()) {
        throw new IOException("the daemon gave no schema: HTTP " + a.status());
      }
      schema = new Schema(a.body());
    }
    return schema;
  }

  /** Runs one command line; 0 done, 1 refused or failed, 2 bad usage, {@link #EXIT} to leave the shell. */
  int execute(List<String> words) throws IOException, InterruptedException {
    if (words.isEmpty()) {
      return 0;
    }
    return configuring() ? configuration(words) : operational(words);
  }

  /** Leaves configuration mode, closing the session (the daemon drops its candidate). */
  void close() throws IOException, InterruptedException {
    if (session != null) {
      client.send("DELETE", "api/v1/sessions/" + session, null);
      session = null;
      edit.clear();
    }
  }

  private int operational(List<String> w) throws IOException, InterruptedException {
    String cmd = w.get(0);
    switch (cmd) {
      case "configure":
        return configure();
      case "exit":
      case "quit":
        return EXIT;
      case "help":
      case "?":
        out.println(OPERATIONAL_HELP);
        return 0;
      case "test":
        return testUrl(w);
      case "ping": {
        long t0 = System.nanoTime();
        AdminClient.Answer a = client.get("api/v1/status");
        if (!a.ok()) {
          return failed(a);
        }
        out.printf("node %s answers: revision %d, %.1f ms%n", a.body().path("node").asText(),
            a.body().path("revision").asInt(), (System.nanoTime() - t0) / 1e6);
        return 0;
      }
      case "show":
        if (w.size() >= 2) {
          switch (w.get(1)) {
            case "config":
              if (w.size() > 2) {
                return showSet(client.get("api/v1/config?format=set"), w.subList(2, w.size()));
              }
              break;
            case "rules":
              return showRules();
            case "haproxy-config":
              List<String> args = new ArrayList<>(List.of("show", "balancer", "haproxy"));
              args.addAll(w.subList(2, w.size()));
              return ops.execute(client, args);
            case "events":
              return events(w.subList(2, w.size()));
            case "metrics":
              var r = client.text("metrics");
              if (r.statusCode() != 200) {
                err.println("error: HTTP " + r.statusCode());
                return 1;
              }
              r.body().lines().filter(l -> l.startsWith("portcullis_")).forEach(out::println);
              return 0;
            default:
              break;
          }
        }
        return ops.execute(client, w);
      default:
        return ops.execute(client, w);
    }
  }

  private static final List<String> EVENT_FILTERS = List.of("client", "user", "host", "action", "type", "rule",
    "source", "url", "threat", "since", "until", "node");

  /** {@code show events [follow] [N] [FILTER VALUE ...]}: the last N matching events; follow: new ones until Ctrl-C. */
  private int events(List<String> args) throws IOException, InterruptedException {
    String use = "show events [follow] [N] [" + String.join("|", EVENT_FILTERS) + " VALUE ...]";
    boolean follow = false;
    int n = 20;
    StringBuilder query = new StringBuilder();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("follow")) {
        follow = true;
      } else if (a.matches("\\d+")) {
        n = Math.min(10_000, Integer.parseInt(a));
      } else if (EVENT_FILTERS.contains(a) && i + 1 < args.size()) {
        String v = args.get(++i);
        if (a.equals("threat") && v.equals("any")) {
          v = "*";
        }
        query.append('&').append(a).append('=').append(java.net.URLEncoder.encode(v,
            java.nio.charset.StandardCharsets.UTF_8));
      } else {
        return usage(use);
      }
    }
    AdminClient.Answer a = client.get("api/v1/events?limit=" + Math.max(1, n) + query);
    if (!a.ok()) {
      return failed(a);
    }
    a.body().path("events").forEach(e -> out.println(eventLine(e)));
    long last = a.body().path("last").asLong();
    while (follow && !interrupted) {
      Thread.sleep(500);
      a = client.get("api/v1/events?limit=1000&after=" + last + query);
      if (!a.ok()) {
        return failed(a);
      }
      if (a.body().path("missed").asLong() > 0) {
        out.println("(" + a.body().path("missed").asLong() + " events missed)");
      }
      a.body().path("events").forEach(e -> out.println(eventLine(e)));
      last = a.body().path("last").asLong();
    }
    return 0;
  }

  /** One event on one line: time, source, client, user, method, URL, then the decision and its figures. */
  static String eventLine(com.fasterxml.jackson.databind.JsonNode e) {
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

  /** {@code show rules}: the rules in the order they are checked, with their hits; then their definitions. */
  private int showRules() throws IOException, InterruptedException {
    AdminClient.Answer a = client.get("api/v1/rules");
    if (!a.ok()) {
      return failed(a);
    }
    int width = 4;
    for (var r : a.body().path("rules")) {
      width = Math.max(width, r.path("name").asText().length());
    }
    out.printf("%-10s  %-" + width + "s  %-8s  %12s%n", "TYPE", "NAME", "ACTION", "HITS");
    for (var r : a.body().path("rules")) {
      out.printf("%-10s  %-" + width + "s  %-8s  %12d%n", r.path("type").asText(), r.path("name").asText(),
          r.path("action").asText(), r.path("hits").asLong());
    }
    out.println();
    return showSet(client.get("api/v1/config?format=set"), List.of("rules"));
  }

  /** {@code test url URL [client IP] [user NAME]}: the rules' verdict, and the matching rule's conditions. */
  private int testUrl(List<String> w) throws IOException, InterruptedException {
    if (w.size() < 3 || !w.get(1).equals("url") || w.size() % 2 == 0) {
      return usage("test url URL [client IP] [user NAME]");
    }
    ObjectNode body = AdminClient.JSON.createObjectNode().put("url", w.get(2));
    for (int i = 3; i + 1 < w.size(); i += 2) {
      switch (w.get(i)) {
        case "client" -> body.put("client", w.get(i + 1));
        case "user" -> body.put("user", w.get(i + 1));
        default -> {
          return usage("test url URL [client IP] [user NAME]: unexpected " + w.get(i));
        }
      }
    }
    AdminClient.Answer a = client.send("POST", "api/v1/test-url", body);
    if (!a.ok()) {
      return failed(a);
    }
    JsonNode r = a.body();
    out.println(r.path("verdict").asText());
    out.printf("  request: %s %s from %s%s (host %s)%n", r.path("method").asText(), r.path("url").asText(),
        r.path("client").asText(), r.has("user") ? " as " + r.path("user").asText() : "", r.path("host").asText());
    if (r.has("access")) {
      JsonNode acc = r.path("access");
      if (acc.has("location")) {
        out.println("  redirect to: " + acc.path("location").asText());
      }
      if (acc.has("category")) {
        out.println("  category: " + acc.path("category").asText());
      }
      JsonNode p = r.path("protection");
      out.println("  protection: " + (p.path("scan").asBoolean() ? "scanned (rule " + p.path("rule").asText() + ")"
          : "not scanned"));
      if (!acc.path("rule").isNull() && !acc.path("rule").asText().isEmpty()) {
        out.println("  why (the rule's conditions):");
        AdminClient.Answer cfg = client.get("api/v1/config?format=set");
        String prefix = "set rules access " + acc.path("rule").asText() + " ";
        for (JsonNode l : cfg.body().path("set")) {
          if (l.asText().startsWith(prefix)) {
            out.println("    " + l.asText());
          }
        }
      }
    }
    return 0;
  }

  /** {@code show config [PATH] [| display set]}: the set commands, those under PATH only when given. */
  private int showSet(AdminClient.Answer a, List<String> args) {
    if (!a.ok()) {
      err.println("error: " + a.body().path("error").asText("HTTP " + a.status()));
      return 1;
    }
    List<String> path = new ArrayList<>();
    for (String s : args) {
      if (s.equals("|")) {
        break;
      }
      path.add(s);
    }
    if (path.isEmpty() && !args.contains("set")) {
      out.print(a.body().path("yaml").asText());
      return 0;
    }
    String prefix = path.isEmpty() ? "set " : "set " + String.join(" ", path) + " ";
    int n = 0;
    for (JsonNode line : a.body().path("set")) {
      String l = line.asText();
      if (l.startsWith(prefix) || (l + " ").equals(prefix)) {
        out.println(l);
        n++;
      }
    }
    if (n == 0 && !path.isEmpty()) {
      out.println("(nothing set under " + String.join(" ", path) + ")");
    }
    return 0;
  }

  private int configure() throws IOException, InterruptedException {
    AdminClient.Answer a = client.send("POST", "api/v1/sessions", null);
    if (!a.ok()) {
      err.println("error: " + a.body().path("error").asText("HTTP " + a.status()));
      return 1;
    }
    session = a.body().path("session").asText();
    edit.clear();
    warnedExit = false;
    out.println("Entering configuration mode (your own candidate, from revision " + a.body().path("base").asInt()
        + ")");
    return 0;
  }

  private int configuration(List<String> w) throws IOException, InterruptedException {
    String cmd = w.get(0);
    List<String> rest = w.subList(1, w.size());
    String base = "api/v1/sessions/" + session;
    switch (cmd) {
      case "set":
      case "delete": {
        List<String> path = new ArrayList<>(edit);
        path.addAll(rest);
        if (path.isEmpty()) {
          return usage(cmd + " needs a path");
        }
        return edited(client.send("POST", base + "/" + cmd, words("path", path)));
      }
      case "insert": {
        if (rest.size() == 4 && rest.get(0).equals("rule")) {
          // insert rule NAME before|after REF: the access rules, the list one reorders most
          rest = List.of("rules", "access", rest.get(1), rest.get(2), rest.get(3));
        }
        if (rest.size() < 4 || !(rest.get(rest.size() - 2).equals("before") || rest.get(rest.size() - 2)
            .equals("after"))) {
          return usage("insert PATH ITEM before|after REF");
        }
        List<String> list = new ArrayList<>(edit);
        list.addAll(rest.subList(0, rest.size() - 3));
        ObjectNode body = words("list", list);
        body.put("item", rest.get(rest.size() - 3)).put("position", rest.get(rest.size() - 2))
            .put("ref", rest.get(rest.size() - 1));
        return edited(client.send("POST", base + "/insert", body));
      }
      case "edit":
        if (rest.isEmpty()) {
          return usage("edit PATH");
        }
        List<String> next = new ArrayList<>(edit);
        next.addAll(rest);
        if (schema().walk(next) == null) {
          err.println("error: " + String.join(" ", next) + ": no such part of the config");
          return 1;
        }
        edit.clear();
        edit.addAll(next);
        return 0;
      case "up":
        if (!edit.isEmpty()) {
          edit.remove(edit.size() - 1);
        }
        return 0;
      case "top":
        edit.clear();
        return 0;
      case "show": {
        if (rest.contains("compare")) {
          return diff(client.get(base + "/compare"));
        }
        if (rest.contains("set")) {
          return showSet(client.get(base + "/set"), edit.isEmpty() ? List.of("|", "set") : withSet(edit));
        }
        AdminClient.Answer a = client.get(base);
        if (!a.ok()) {
          return failed(a);
        }
        out.print(a.body().path("yaml").asText());
        return 0;
      }
      case "compare":
        return diff(client.get(base + "/compare"));
      case "commit":
        return commit(rest);
      case "confirm":
        return ops.execute(client, List.of("confirm"));
      case "rollback": {
        if (rest.size() != 1 || !rest.get(0).matches("\\d+")) {
          return usage("rollback N");
        }
        AdminClient.Answer a = client.send("POST", base + "/rollback",
            AdminClient.JSON.createObjectNode().put("revision", Integer.parseInt(rest.get(0))));
        if (!a.ok()) {
          return failed(a);
        }
        out.println("load complete: revision " + rest.get(0) + " is the candidate; `commit` to put it into effect");
        problems(a.body());
        return 0;
      }
      case "discard": {
        AdminClient.Answer a = client.send("POST", base + "/discard", null);
        if (!a.ok()) {
          return failed(a);
        }
        out.println("changes discarded");
        return 0;
      }
      case "run":
        return rest.isEmpty() ? usage("run COMMAND") : operational(rest);
      case "exit":
      case "quit": {
        AdminClient.Answer a = client.get(base);
        if (a.ok() && a.body().path("changed").asBoolean() && !warnedExit && !rest.contains("discard")) {
          warnedExit = true;
          out.println("The candidate has uncommitted changes: `exit` again (or `exit discard`) drops them,"
              + " `commit` applies them");
          return 0;
        }
        close();
        out.println("Exiting configuration mode");
        return 0;
      }
      case "help":
      case "?":
        out.println(CONFIGURATION_HELP);
        return 0;
      default:
        return usage("unknown command " + cmd + " in configuration mode (help lists them)");
    }
  }

  private static List<String> withSet(List<String> path) {
    List<String> l = new ArrayList<>(path);
    l.add("|");
    l.add("set");
    return l;
  }

  private int commit(List<String> rest) throws IOException, InterruptedException {
    String base = "api/v1/sessions/" + session;
    if (rest.size() == 1 && rest.get(0).equals("check")) {
      AdminClient.Answer a = client.send("POST", base + "/check", null);
      if (a.ok() && a.body().path("valid").asBoolean()) {
        out.println("configuration check succeeds");
        return 0;
      }
      err.println("configuration check fails:");
      problems(a.body());
      return 1;
    }
    ObjectNode body = AdminClient.JSON.createObjectNode();
    for (int i = 0; i < rest.size(); i++) {
      String word = rest.get(i);
      if (word.equals("confirmed") && i + 1 < rest.size() && rest.get(i + 1).matches("\\d+")) {
        body.put("confirm", rest.get(++i) + "m");
      } else if (word.equals("force")) {
        body.put("force", true);
      } else if (word.equals("comment") && i + 1 < rest.size()) {
        body.put("message", String.join(" ", rest.subList(i + 1, rest.size())));
        break;
      } else {
        return usage("commit [check | force | confirmed MINUTES] [comment TEXT]");
      }
    }
    AdminClient.Answer a = withProgress(() -> client.send("POST", base + "/commit", body));
    if (a.status() == 409 && a.body().has("changed")) {
      err.println("error: " + a.body().path("error").asText());
      err.print(a.body().path("changed").asText());
      return 1;
    }
    if (!a.ok()) {
      return failed(a);
    }
    out.println("commit complete: revision " + a.body().path("revision").asInt());
    Main.nodesReport(a.body(), out);
    warnedExit = false;
    if (a.body().has("confirmBy")) {
      out.println("commit confirmed will be rolled back at " + a.body().path("confirmBy").asText()
          + " unless `confirm` comes first");
    }
    return 0;
  }

  private interface Call {
    AdminClient.Answer call() throws IOException, InterruptedException;
  }

  /**
   * Runs {@code call}; on a terminal, while it runs, draws the commit's progress as the daemon reports it
   * ({@code GET /api/v1/commit/progress}: compiling rules, preparing services k/n, recording) on one line.
   */
  private AdminClient.Answer withProgress(Call call) throws IOException, InterruptedException {
    if (!progressBar) {
      return call.call();
    }
    java.util.concurrent.CompletableFuture<AdminClient.Answer> done = new java.util.concurrent.CompletableFuture<>();
    Thread t = new Thread(() -> {
      try {
        done.complete(call.call());
      } catch (Exception e) {
        done.completeExceptionally(e);
      }
    }, "console-commit");
    t.setDaemon(true);
    t.start();
    boolean drawn = false;
    while (true) {
      try {
        return done.get(250, java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        AdminClient.Answer p = client.get("api/v1/commit/progress");
        JsonNode b = p.body();
        if (b.path("running").asBoolean()) {
          int total = b.path("total").asInt();
          int k = b.path("done").asInt();
          int filled = total > 0 ? 20 * k / total : (int) (b.path("elapsedMs").asLong() / 250 % 21);
          String bar = "[" + "#".repeat(filled) + ".".repeat(20 - filled) + "] " + b.path("phase").asText()
              + (total > 0 ? " " + k + "/" + total : "") + String.format(" %.1f s", b.path("elapsedMs").asLong() / 1e3);
          out.print("\r" + bar + "\u001b[K");
          out.flush();
          drawn = true;
        }
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof IOException io) {
          throw io;
        }
        throw new IOException(e.getCause());
      } finally {
        if (done.isDone() && drawn) {
          out.print("\r\u001b[K");
          out.flush();
        }
      }
    }
  }

  private int edited(AdminClient.Answer a) {
    if (!a.ok()) {
      return failed(a);
    }
    warnedExit = false;
    if (!a.body().path("valid").asBoolean(true)) {
      // Not an error: a candidate may be incomplete while it is edited; commit refuses it until it is whole.
      out.println("(the candidate would not commit yet:)");
      problems(a.body());
    }
    return 0;
  }

  private int diff(AdminClient.Answer a) {
    if (!a.ok()) {
      return failed(a);
    }
    String d = a.body().path("diff").asText();
    out.print(d.isEmpty() ? "no changes\n" : d);
    return 0;
  }

  private int failed(AdminClient.Answer a) {
    err.println("error: " + a.body().path("error").asText("HTTP " + a.status()));
    problems(a.body());
    if (a.status() == 404 && session != null && a.body().path("error").asText().contains("no configuration session")) {
      session = null;
      edit.clear();
    }
    return 1;
  }

  private void problems(JsonNode body) {
    for (JsonNode p : body.path("problems")) {
      err.println("  " + p.path("text").asText());
    }
  }

  private int usage(String why) {
    err.println("error: " + why);
    return 2;
  }

  private static ObjectNode words(String key, List<String> words) {
    ObjectNode body = AdminClient.JSON.createObjectNode();
    ArrayNode a = body.putArray(key);
    words.forEach(a::add);
    return body;
  }
}
