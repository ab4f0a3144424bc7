package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Operational mode's looking commands: show …, ping, test url; and how their answers print. */
final class Show {
  private Show() {
  }

  /** What a show of the config asks for: a PATH, and after {@code |}: {@code display set} or {@code compare}. */
  record Selection(List<String> path, boolean asSet, boolean compare) {
    Selection {
      path = List.copyOf(path);
    }

    /** Reads {@code [PATH ...] [| display set]}, and {@code | compare} when {@code compareToo}. */
    static Selection parse(List<String> args, boolean compareToo) {
      int bar = args.indexOf("|");
      List<String> path = bar < 0 ? args : args.subList(0, bar);
      List<String> after = bar < 0 ? List.of() : args.subList(bar + 1, args.size());
      if (path.contains("|") || after.contains("|")) {
        throw new UsageError("one | at most");
      }
      if (bar < 0 || after.equals(List.of("display", "set"))) {
        return new Selection(path, bar >= 0, false);
      }
      if (compareToo && after.equals(List.of("compare")) && path.isEmpty()) {
        return new Selection(path, false, true);
      }
      throw new UsageError("after | : " + (compareToo ? "compare (for the whole candidate), or " : "") + "display set");
    }
  }

  /** {@code show status}: node, version, revision, services, cluster link, a pending commit confirmed. */
  static int status(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/status"), a -> status(a.body(), shell.out()));
  }

  /** {@code show config [PATH ...] [| display set]}: the active config as YAML, or its set commands (under PATH). */
  static Action config(List<String> args) {
    Selection s = Selection.parse(args, false);
    return shell -> {
      if (!s.asSet() && s.path().isEmpty()) {
        return yaml(shell, "api/v1/config");
      }
      return setLines(shell, shell.client().get("api/v1/config?format=set"), s.path());
    };
  }

  /** {@code show candidate}: the node's shared candidate (YAML). */
  static int candidate(Shell shell) throws IOException, InterruptedException {
    return yaml(shell, "api/v1/candidate");
  }

  /** {@code show revisions}: the revisions kept, newest last ({@code *}: the active one). */
  static int revisions(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/revisions"), a -> {
      for (JsonNode r : a.body().path("revisions")) {
        shell.out().printf("%s %5d  %s  %-12s %s%n", r.path("active").asBoolean() ? "*" : " ",
            r.path("revision").asInt(), r.path("time").asText(), r.path("author").asText(), r.path("message").asText());
      }
    });
  }

  /** {@code show revision N}: that revision's YAML. */
  static Action revision(List<String> args) {
    if (args.size() != 1) {
      throw new UsageError("show revision needs one number");
    }
    int n = Candidate.number(args.get(0));
    return shell -> yaml(shell, "api/v1/revisions/" + n);
  }

  /** {@code show cluster}: the role; on a control node each node's state and revision, on a node its link. */
  static int cluster(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/cluster"), a -> cluster(a.body(), shell.out()));
  }

  /** {@code show cluster join-key NODE}: what NODE needs to join this control node. */
  static Action joinKey(List<String> args) {
    if (args.size() != 1) {
      throw new UsageError("show cluster join-key needs one NODE");
    }
    String node = args.get(0);
    return shell -> shell.print(shell.client().get("api/v1/cluster/join-key?node=" + encode(node)), a -> {
      shell.out().println("on node " + node + ", with cluster.role node and cluster.control set:");
      shell.out().println("  set cluster joinKey " + a.body().path("joinKey").asText());
      shell.out().println("  set cluster caFingerprint " + a.body().path("caFingerprint").asText()
          + "   (optional: join only this CA)");
    });
  }

  /** {@code show tls ca}: the inspection CA users must trust, and where their browsers can fetch it. */
  static int tlsCa(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/tls/ca"), a -> {
      JsonNode b = a.body();
      shell.out().println("inspection CA (" + (b.path("nodeOwn").asBoolean() ? "the node's own, "
          + "DATA_DIR/tls/ca.crt" : "the admin's, proxy.tls.ca") + ")");
      shell.out().println("  subject      " + b.path("subject").asText());
      shell.out().println("  valid        " + b.path("notBefore").asText() + " to " + b.path("notAfter").asText());
      shell.out().println("  SHA-256      " + b.path("fingerprint").asText());
      shell.out().println("  users fetch it through the proxy at http://" + b.path("pageHost").asText()
          + "/ (or the admin API's /api/v1/tls/ca.pem)");
      shell.out().print(b.path("pem").asText());
    });
  }

  /** {@code show users}: the proxy's users logged in and remembered now, how, and their groups. */
  static int users(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/users"), a -> {
      JsonNode b = a.body();
      if (!b.path("authentication").asBoolean()) {
        shell.out().println("proxy authentication is off (proxy.auth.enabled)");
        return;
      }
      if (b.path("users").isEmpty()) {
        shell.out().println("no user logged in lately");
        return;
      }
      shell.out().printf("%-24s %-10s %s%n", "USER", "VIA", "GROUPS");
      for (JsonNode u : b.path("users")) {
        List<String> groups = new java.util.ArrayList<>();
        u.path("groups").forEach(g -> groups.add(g.asText()));
        shell.out().printf("%-24s %-10s %s%n", u.path("name").asText(), u.path("via").asText(),
            groups.isEmpty() ? "-" : String.join(", ", groups));
      }
    });
  }

  /** What rotating the inspection CA means for users; said before and after. */
  static final String ROTATE_MEANS = """
      every client must trust the new CA before it next visits an inspected site: until then its browser refuses
      every inspected site. Push the new certificate (Group Policy, MDM, the users' page at http://portcullis.invalid/)
      first, or turn inspection off (set proxy tls inspect false) until it is out. The old CA is kept in
      DATA_DIR/tls/previous/; remove it from clients once the new one is everywhere.""";

  /** {@code rotate tls ca [now]}: what a new CA means, and, with now, a new one in effect at once. */
  static Action rotateCa(List<String> args) {
    if (args.size() > 1 || args.size() == 1 && !args.get(0).equals("now")) {
      throw new UsageError("rotate tls ca takes only now");
    }
    if (args.isEmpty()) {
      return shell -> {
        shell.out().println("rotate tls ca now replaces this node's own inspection CA with a new one; then "
            + ROTATE_MEANS);
        return 0;
      };
    }
    return shell -> shell.print(shell.client().send("POST", "api/v1/tls/ca/rotate", null), a -> {
      JsonNode b = a.body();
      shell.out().println("inspection CA rotated: " + b.path("fingerprint").asText() + " replaces "
          + b.path("previous").asText() + ";");
      shell.out().println(ROTATE_MEANS);
      shell.out().print(b.path("pem").asText());
    });
  }

  /** {@code show balancer}: frontends and servers (on a control node, each node's too). */
  static int balancer(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/balancer"), a -> balancer(a.body(), shell.out()));
  }

  /** {@code show balancer haproxy [FRONTEND ...]}: the balancer's layout as a haproxy.cfg. */
  static Action haproxy(List<String> frontends) {
    StringBuilder q = new StringBuilder("api/v1/balancer/haproxy.cfg");
    for (int i = 0; i < frontends.size(); i++) {
      q.append(i == 0 ? '?' : '&').append("frontend=").append(encode(frontends.get(i)));
    }
    return shell -> {
      java.net.http.HttpResponse<String> r = shell.client().text(q.toString());
      if (r.statusCode() / 100 == 2) {
        shell.out().print(r.body());
        return 0;
      }
      shell.err().println("error: " + AdminClient.JSON.readTree(r.body()).path("error")
          .asText("HTTP " + r.statusCode()));
      return 1;
    };
  }

  /** {@code show rules}: the rules in the order they are checked, with their hits; then their definitions. */
  static int rules(Shell shell) throws IOException, InterruptedException {
    AdminClient.Answer a = shell.client().get("api/v1/rules");
    if (!a.ok()) {
      return shell.failed(a);
    }
    PrintStream out = shell.out();
    int width = 4;
    for (JsonNode r : a.body().path("rules")) {
      width = Math.max(width, r.path("name").asText().length());
    }
    out.printf("%-10s  %-" + width + "s  %-8s  %12s%n", "TYPE", "NAME", "ACTION", "HITS");
    for (JsonNode r : a.body().path("rules")) {
      out.printf("%-10s  %-" + width + "s  %-8s  %12d%n", r.path("type").asText(), r.path("name").asText(),
          r.path("action").asText(), r.path("hits").asLong());
    }
    out.println();
    return setLines(shell, shell.client().get("api/v1/config?format=set"), List.of("rules"));
  }

  /** {@code show metrics}: the node's own metrics (portcullis_*). */
  static int metrics(Shell shell) throws IOException, InterruptedException {
    java.net.http.HttpResponse<String> r = shell.client().text("metrics");
    if (r.statusCode() != 200) {
      shell.err().println("error: HTTP " + r.statusCode());
      return 1;
    }
    r.body().lines().filter(l -> l.startsWith("portcullis_")).forEach(shell.out()::println);
    return 0;
  }

  /** {@code ping}: is the daemon there (its node, revision, answer time). */
  static int ping(Shell shell) throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    return shell.print(shell.client().get("api/v1/status"), a -> shell.out().printf(
        "node %s answers: revision %d, %.1f ms%n", a.body().path("node").asText(), a.body().path("revision").asInt(),
        (System.nanoTime() - t0) / 1e6));
  }

  /** {@code test url URL [client IP] [user NAME]}: the rules' verdict, and the matching rule's conditions. */
  static Action testUrl(List<String> args) {
    if (args.isEmpty() || args.size() % 2 == 0) {
      throw new UsageError("test url needs a URL, then pairs of client IP or user NAME");
    }
    ObjectNode body = AdminClient.JSON.createObjectNode().put("url", args.get(0));
    for (int i = 1; i + 1 < args.size(); i += 2) {
      switch (args.get(i)) {
        case "client" -> body.put("client", args.get(i + 1));
        case "user" -> body.put("user", args.get(i + 1));
        default -> throw new UsageError("test url: unexpected \"" + args.get(i) + "\"");
      }
    }
    return shell -> {
      AdminClient.Answer a = shell.client().send("POST", "api/v1/test-url", body);
      if (!a.ok()) {
        return shell.failed(a);
      }
      verdict(shell, a.body());
      return 0;
    };
  }

  /** Prints a test-url answer: verdict, request, and the matching access rule's set commands. */
  private static void verdict(Shell shell, JsonNode r) throws IOException, InterruptedException {
    PrintStream out = shell.out();
    out.println(r.path("verdict").asText());
    out.printf("  request: %s %s from %s%s (host %s)%n", r.path("method").asText(), r.path("url").asText(),
        r.path("client").asText(), r.has("user") ? " as " + r.path("user").asText() : "", r.path("host").asText());
    if (r.has("groups")) {
      List<String> groups = new java.util.ArrayList<>();
      r.path("groups").forEach(g -> groups.add(g.asText()));
      out.println("  groups: " + (groups.isEmpty() ? "none" : String.join(", ", groups)) + " ("
          + r.path("groupsFrom").asText() + ")");
    }
    if (!r.has("access")) {
      return;
    }
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
      AdminClient.Answer cfg = shell.client().get("api/v1/config?format=set");
      String prefix = "set rules access " + acc.path("rule").asText() + " ";
      for (JsonNode l : cfg.body().path("set")) {
        if (l.asText().startsWith(prefix)) {
          out.println("    " + l.asText());
        }
      }
    }
  }

  /** Prints the set commands of answer {@code a} under {@code path} (all of them for an empty path). */
  static int setLines(Shell shell, AdminClient.Answer a, List<String> path) {
    return shell.print(a, ok -> {
      String prefix = path.isEmpty() ? "set " : "set " + String.join(" ", path) + " ";
      int n = 0;
      for (JsonNode line : ok.body().path("set")) {
        String l = line.asText();
        if (l.startsWith(prefix) || (l + " ").equals(prefix)) {
          shell.out().println(l);
          n++;
        }
      }
      if (n == 0 && !path.isEmpty()) {
        shell.out().println("(nothing set under " + String.join(" ", path) + ")");
      }
    });
  }

  /** Prints the YAML of the answer at {@code path}. */
  private static int yaml(Shell shell, String path) throws IOException, InterruptedException {
    return shell.print(shell.client().get(path), a -> shell.out().print(a.body().path("yaml").asText()));
  }

  /** {@code s} for a URL query. */
  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** The role; on a control node each node's state and revision (when listed), on a node its link. */
  static void cluster(JsonNode c, PrintStream out) {
    String role = c.path("role").asText();
    if (role.equals("control")) {
      out.printf("control node on %s, revision %d, cluster CA %s%n", c.path("listen").asText(),
          c.path("revision").asInt(), c.path("ca").asText());
      if (!c.has("nodes")) {
        return; // show status: the line above; show cluster lists the nodes
      }
      out.printf("  %-16s %-18s %-12s %8s %-6s  %s%n", "node", "address", "state", "revision", "ready", "last seen");
      for (JsonNode n : c.path("nodes")) {
        out.printf("  %-16s %-18s %-12s %8s %-6s  %s%s%n", n.path("name").asText(), n.path("address").asText(),
            n.path("state").asText(), n.has("revision") ? n.path("revision").asText() : "-",
            n.has("ready") ? (n.path("ready").asBoolean() ? "yes" : "no") : "-", n.path("lastSeen").asText("-"),
            (n.has("reason") ? "  (" + n.path("reason").asText() + ")" : "")
                + (n.path("localChanges").asBoolean() ? "  (forced local changes)" : ""));
      }
      if (c.path("nodes").isEmpty()) {
        out.println("  no nodes: add them with set cluster nodes NAME address HOST, then show cluster join-key NAME");
      }
    } else if (role.equals("node")) {
      out.printf("node of the control node at %s: %s, control revision %d, last contact %s%s%n",
          c.path("control").asText(), c.path("state").asText(), c.path("revision").asInt(),
          c.path("lastContact").asText("never"), c.has("reason") ? "  (" + c.path("reason").asText() + ")" : "");
    } else {
      out.println("standalone: this node is not in a cluster (cluster.role)");
    }
  }

  /** After a commit on a control node: which nodes took the revision, which did not within cluster.commitWait. */
  static void nodesReport(JsonNode answer, PrintStream out) {
    JsonNode n = answer.path("nodes");
    if (n.isMissingNode()) {
      return;
    }
    int total = n.path("total").asInt();
    List<String> late = new ArrayList<>();
    n.path("laggards").forEach(x -> late.add(x.asText()));
    if (late.isEmpty()) {
      out.println("all " + total + " nodes have revision " + answer.path("revision").asInt());
    } else {
      out.println("warning: " + (total - late.size()) + " of " + total + " nodes have revision "
          + answer.path("revision").asInt() + "; not within " + n.path("waited").asLong() / 1000 + " s: "
          + String.join(", ", late) + " (they take it when they come back; see show cluster)");
    }
  }

  /** Each frontend with its servers (each reporting node's first, on a control node). */
  private static void balancer(JsonNode b, PrintStream out) {
    if (b.has("nodes")) {
      b.path("nodes").fields().forEachRemaining(e -> {
        out.println("[node " + e.getKey() + ", reported " + e.getValue().path("lastSeen").asText() + "]");
        balancer(e.getValue(), out);
      });
      out.println("[this node]");
    }
    if (!b.path("enabled").asBoolean()) {
      out.println("the balancer is disabled");
      return;
    }
    for (JsonNode f : b.path("frontends")) {
      out.printf("frontend %s  %s  %s  %s  %d client connections%n", f.path("name").asText(),
          f.path("listen").asText(), f.path("mode").asText(), f.path("method").asText(), f.path("clients").asInt());
      out.printf("  %-12s %-22s %-6s %6s %6s %10s %8s  %s%n", "server", "address", "state", "weight", "active",
          "total", "errors", "last check");
      for (JsonNode s : f.path("servers")) {
        out.printf("  %-12s %-22s %-6s %6s %6d %10d %8d  %s%n", s.path("name").asText(),
            s.path("address").asText(), s.path("state").asText(),
            s.path("weight").asInt() + (s.path("backup").asBoolean() ? "b" : ""), s.path("active").asInt(),
            s.path("total").asLong(), s.path("errors").asLong(), s.path("check").path("last").asText());
      }
    }
  }

  /** The node's status: version, revision, uptime, services, cluster link, a pending commit confirmed. */
  private static void status(JsonNode s, PrintStream out) {
    out.printf("node %s, version %s, revision %d, up %ds%n", s.path("node").asText(), s.path("version").asText(),
        s.path("revision").asInt(), s.path("uptimeSeconds").asLong());
    s.path("services").fields().forEachRemaining(e -> {
      JsonNode v = e.getValue();
      out.printf("  %-9s %-10s %s%s%n", e.getKey(), v.path("state").asText(), v.path("address").asText(""),
          v.has("reason") ? "  (" + v.path("reason").asText() + ")" : "");
    });
    if (s.has("cluster")) {
      cluster(s.path("cluster"), out);
    }
    if (s.has("pendingConfirm")) {
      JsonNode p = s.path("pendingConfirm");
      out.printf("commit confirmed pending: revision %d reverts to %d at %s unless confirmed%n",
          p.path("revision").asInt(), p.path("revertsTo").asInt(), p.path("deadline").asText());
    }
  }
}
