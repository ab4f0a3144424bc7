package io.portcullis.daemon.cluster;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.events.EventFilter;
import io.portcullis.daemon.events.Events;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of the cluster: joins its control node once (proving the join secret; pinning the CA it gets),
 * then, over mutual TLS, waits for each revision and puts it into effect with the node's local keys kept, reports
 * its state every 2 s and sends its traffic events. Without the control node it keeps the last config it had.
 */
final class ClusterNode {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  private static final long REPORT_MS = 2000;
  private static final long EVENTS_MS = 1000;

  private final Daemon daemon;
  private final Vertx vertx;
  private final Path dir;
  private final HostPort control;
  private volatile String state = "starting";
  private volatile String reason;
  private volatile String problem;
  private volatile Instant lastContact;
  private volatile int applied;
  /** The last revision received; a revision that failed is not tried again until the next or 30 s later. */
  private volatile int seen;
  private volatile String lastMerged;
  private volatile boolean stopped;
  private HttpClient joinClient;
  private HttpClient client;
  private long reportTimer = -1;
  private long eventsTimer = -1;
  private long eventsAfter = -1;
  private boolean sendingEvents;
  private boolean reporting;
  private boolean reportAgain;

  ClusterNode(Daemon daemon, Path dir, HostPort control) {
    this.daemon = daemon;
    this.vertx = daemon.vertx();
    this.dir = dir;
    this.control = control;
  }

  HostPort control() {
    return control;
  }

  void start() {
    try {
      Files.createDirectories(dir);
      Path a = dir.resolve("applied");
      applied = Files.exists(a) ? Integer.parseInt(Files.readString(a).strip()) : -1;
    } catch (Exception e) {
      applied = -1;
    }
    seen = applied;
    eventsAfter = daemon.events().follow(-1, 1, EventFilter.ALL).last();
    if (Files.exists(dir.resolve("node.crt"))) {
      connect();
    } else {
      join();
    }
  }

  void stop() {
    stopped = true;
    if (reportTimer >= 0) {
      vertx.cancelTimer(reportTimer);
    }
    if (eventsTimer >= 0) {
      vertx.cancelTimer(eventsTimer);
    }
    if (client != null) {
      client.close();
    }
    if (joinClient != null) {
      joinClient.close();
    }
  }

  private ClusterConfig cluster() {
    return daemon.config().cluster();
  }

  private void set(String state, String reason) {
    if (!state.equals(this.state) || (reason != null && !reason.equals(this.reason))) {
      if (reason == null) {
        LOG.info("cluster: {} (control node {})", state, control);
      } else {
        LOG.warn("cluster: {}: {} (control node {})", state, reason, control);
      }
    }
    this.state = state;
    this.reason = reason;
  }

  /** Asks the control node for a certificate, proving the join secret; retried every 5 s until it works. */
  private void join() {
    if (stopped) {
      return;
    }
    set("joining", null);
    String secret = cluster().secret();
    String name = daemon.config().node().name();
    KeyPair kp;
    try {
      kp = ClusterCa.newKeyPair();
    } catch (java.security.GeneralSecurityException e) {
      set("join failed", e.toString());
      return;
    }
    String pub = java.util.Base64.getEncoder().encodeToString(kp.getPublic().getEncoded());
    String nonce = ClusterCa.nonce();
    JsonObject body = new JsonObject().put("name", name).put("nonce", nonce).put("publicKey", pub)
        .put("proof", ClusterCa.proof(secret, "join", name, nonce, pub));
    if (joinClient == null) {
      // The control node's certificate cannot be checked yet; the answer's proof of the secret stands in for it.
      joinClient = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false)
          .setConnectTimeout(3000).setIdleTimeout(30));
    }
    joinClient.request(new RequestOptions().setMethod(HttpMethod.POST).setHost(control.host()).setPort(control.port())
        .setURI("/cluster/v1/join").setTimeout(10_000).putHeader("Content-Type", "application/json"))
        .compose(req -> req.send(body.encode()))
        .compose(resp -> resp.body().map(b -> new Object[] {resp.statusCode(), b}))
        .onComplete(ar -> {
          if (ar.failed()) {
            set("joining", "control node unreachable: " + ar.cause().getMessage());
            vertx.setTimer(5000, t -> join());
            return;
          }
          int status = (Integer) ar.result()[0];
          Buffer b = (Buffer) ar.result()[1];
          JsonObject answer;
          try {
            answer = b.toJsonObject();
          } catch (RuntimeException e) {
            answer = new JsonObject().put("error", "not JSON");
          }
          if (status != 200) {
            set("join refused", answer.getString("error", "status " + status));
            vertx.setTimer(5000, t -> join());
            return;
          }
          String ca = answer.getString("ca", "");
          String cert = answer.getString("cert", "");
          if (!ClusterCa.sameProof(answer.getString("proof"), ClusterCa.proof(secret, "joined", nonce, ca, cert))) {
            set("join refused", "the control node's answer does not prove the join secret (not our control node?)");
            vertx.setTimer(5000, t -> join());
            return;
          }
          vertx.executeBlocking(() -> {
            ClusterCa.writePrivate(dir.resolve("node.key"), ClusterCa.pem("PRIVATE KEY",
                kp.getPrivate().getEncoded()));
            AtomicFiles.write(dir.resolve("ca.crt"), ca.getBytes(StandardCharsets.US_ASCII), null);
            AtomicFiles.write(dir.resolve("node.crt"), cert.getBytes(StandardCharsets.US_ASCII), null);
            return ClusterCa.fingerprint(ca);
          }, false).onComplete(w -> {
            if (w.failed()) {
              set("join failed", "cannot keep the certificate: " + w.cause());
              return;
            }
            LOG.info("cluster: joined control node {}; cluster CA {} pinned", control, w.result());
            joinClient.close();
            joinClient = null;
            connect();
          });
        });
  }

  /** Opens the mutual-TLS client (pinned CA) and starts waiting for revisions, reporting and sending events. */
  private void connect() {
    if (stopped) {
      return;
    }
    client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setVerifyHost(false)
        .setKeyCertOptions(new PemKeyCertOptions().setKeyPath(dir.resolve("node.key").toString())
            .setCertPath(dir.resolve("node.crt").toString()))
        .setTrustOptions(new PemTrustOptions().addCertPath(dir.resolve("ca.crt").toString()))
        .setConnectTimeout(3000).setIdleTimeout(60).setKeepAlive(true));
    set("connecting", null);
    poll();
    reportTimer = vertx.setPeriodic(200, REPORT_MS, t -> report());
    eventsTimer = vertx.setPeriodic(EVENTS_MS, t -> sendEvents());
  }

  private Future<JsonObject> call(HttpMethod method, String uri, JsonObject body, long timeoutMs) {
    RequestOptions o = new RequestOptions().setMethod(method).setHost(control.host()).setPort(control.port())
        .setURI(uri).setTimeout(timeoutMs);
    if (body != null) {
      o.putHeader("Content-Type", "application/json");
    }
    return client.request(o).compose(req -> body == null ? req.send() : req.send(body.toBuffer()))
        .compose(resp -> resp.body().compose(b -> {
          if (resp.statusCode() == 204) {
            return Future.succeededFuture(null);
          }
          JsonObject j;
          try {
            j = b.length() == 0 ? new JsonObject() : b.toJsonObject();
          } catch (RuntimeException e) {
            return Future.failedFuture("the control node answered " + resp.statusCode() + " without JSON");
          }
          if (resp.statusCode() != 200) {
            return Future.failedFuture("the control node refused: " + j.getString("error", "status "
                + resp.statusCode()));
          }
          return Future.succeededFuture(j);
        }));
  }

  /** Waits for the next revision (long poll) and applies it; on failure, tries again after a second or five. */
  private void poll() {
    if (stopped) {
      return;
    }
    call(HttpMethod.GET, "/cluster/v1/config?after=" + seen, null, ClusterControl.HOLD_MS + 10_000)
        .onComplete(ar -> {
          if (stopped) {
            return;
          }
          if (ar.failed()) {
            String why = ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage();
            boolean untrusted = false;
            for (Throwable t = ar.cause(); t != null; t = t.getCause()) {
              untrusted |= t instanceof javax.net.ssl.SSLHandshakeException
                  || t instanceof java.security.cert.CertPathValidatorException
                  || t instanceof java.security.cert.CertPathBuilderException;
            }
            if (untrusted) {
              why += " (the control node at " + control + " is not the one this node joined: its certificate is not "
                  + "from the pinned cluster CA; to join another control node, remove " + dir + " and restart)";
            }
            set("unreachable", why + "; keeping revision " + applied);
            vertx.setTimer(why.contains("refused:") ? 5000 : 1000, t -> poll());
            return;
          }
          lastContact = Instant.now();
          JsonObject answer = ar.result();
          if (answer == null) {
            set("in sync", null);
            poll();
            return;
          }
          int revision = answer.getInteger("revision");
          seen = revision;
          apply(revision, answer.getString("text", "")).onComplete(x -> {
            report();
            poll();
          });
        });
  }

  /** Puts the control node's revision into effect here with the local keys kept; records it as applied. */
  private Future<Void> apply(int revision, String shared) {
    List<String> locals = new ArrayList<>(ClusterConfig.ALWAYS_LOCAL);
    locals.addAll(cluster().local());
    String merged;
    try {
      merged = ConfigEditor.withLocal(shared, daemon.commits().active().text(), locals);
    } catch (RuntimeException e) {
      problem = "revision " + revision + " cannot be read: " + e.getMessage();
      set("failed", problem);
      return Future.succeededFuture();
    }
    set("applying", null);
    return Future.fromCompletionStage(daemon.commits().commitFromControl(merged, "control revision " + revision
        + " from " + control)).compose(rev -> vertx.executeBlocking(() -> {
          AtomicFiles.write(dir.resolve("applied"), (revision + "\n").getBytes(StandardCharsets.US_ASCII), null);
          return rev;
        }, false)).transform(ar -> {
          if (ar.succeeded()) {
            applied = revision;
            lastMerged = daemon.commits().active().text();
            problem = null;
            set("in sync", null);
            LOG.info("cluster: control revision {} in effect as local revision {}", revision, ar.result().number());
          } else {
            Throwable c = ar.cause() instanceof java.util.concurrent.CompletionException && ar.cause().getCause() != null
                ? ar.cause().getCause() : ar.cause();
            String why = c.getMessage();
            if (c instanceof io.portcullis.daemon.config.CommitManager.CommitException ce && !ce.problems().isEmpty()) {
              why += ": " + ce.problems().stream().map(p -> p.path() + " " + p.message()).toList();
            }
            problem = "control revision " + revision + " not applied: " + why;
            set("failed", problem);
            vertx.setTimer(30_000, t -> {
              if (seen == revision && applied != revision) {
                seen = applied; // try it again: what failed (a busy port) may have passed
              }
            });
          }
          return Future.succeededFuture();
        });
  }

  /** Sends the node's state, health, ports, metrics and balancer to the control node. */
  private void report() {
    if (stopped || client == null) {
      return;
    }
    if (reporting) {
      reportAgain = true; // a new revision must not wait for the next period
      return;
    }
    reporting = true;
    daemon.readiness().checkStatus().onComplete(h -> {
      JsonObject body = new JsonObject().put("revision", applied).put("localRevision",
          daemon.commits().active().revision()).put("state", state).put("version", Daemon.version())
          .put("proxyPort", daemon.port("proxy")).put("icapPort", daemon.port("icap"));
      if (problem != null) {
        body.put("problem", problem);
      }
      JsonArray notReady = new JsonArray();
      if (h.succeeded()) {
        body.put("ready", h.result().getUp());
        JsonObject j = h.result().toJson();
        JsonArray checks = j.getJsonArray("checks", new JsonArray());
        for (Object o : checks) {
          if (o instanceof JsonObject c && !"UP".equals(c.getString("status"))) {
            notReady.add(c.getString("id"));
          }
        }
      } else {
        body.put("ready", false);
      }
      body.put("notReady", notReady);
      body.put("localChanges", localChanges());
      body.put("balancer", daemon.balancerStatus());
      // The scrape walks every meter: off the event loop.
      vertx.executeBlocking(() -> body.put("metrics", daemon.meterRegistry().scrape()), false)
          .compose(b -> call(HttpMethod.POST, "/cluster/v1/status", b, 5000)).onComplete(ar -> {
        reporting = false;
        if (reportAgain) {
          reportAgain = false;
          report();
        }
        if (ar.succeeded()) {
          lastContact = Instant.now();
        }
      });
    });
  }

  /** True when a forced local commit changed the config since the control node's last revision was applied. */
  private boolean localChanges() {
    String m = lastMerged;
    return m != null && !m.equals(daemon.commits().active().text());
  }

  /** Sends the events recorded since the last send (at most 2000 at a time). */
  private void sendEvents() {
    if (stopped || sendingEvents) {
      return;
    }
    Events.Page page = daemon.events().follow(eventsAfter, 2000, EventFilter.ALL);
    if (page.events().isEmpty()) {
      eventsAfter = page.last();
      return;
    }
    JsonArray list = new JsonArray();
    page.events().forEach(e -> list.add(e.toJson()));
    sendingEvents = true;
    call(HttpMethod.POST, "/cluster/v1/events", new JsonObject().put("events", list), 10_000).onComplete(ar -> {
      sendingEvents = false;
      if (ar.succeeded()) {
        eventsAfter = page.last();
      }
    });
  }

  /** The node's view for show status and health. */
  JsonObject status() {
    JsonObject o = new JsonObject().put("role", "node").put("control", control.toString()).put("state", state)
        .put("revision", applied);
    if (reason != null) {
      o.put("reason", reason);
    }
    if (lastContact != null) {
      o.put("lastContact", lastContact.toString());
    }
    return o;
  }
}
