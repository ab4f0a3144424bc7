package io.portcullis.daemon.cluster;

import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.ConfigEditor;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.Revision;
import io.portcullis.daemon.events.EventFilter;
import io.portcullis.daemon.events.Events;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's side of the cluster: joins its control node once (proving its join key; pinning the CA it gets),
 * then, over mutual TLS, waits for each revision and puts it into effect with the node's local keys kept, reports
 * its state every 2 s and sends its traffic events. Without the control node it keeps the last config it had. All
 * its state lives on one Vert.x context.
 */
final class ClusterNode {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);
  private static final long REPORT_MS = 2000;
  private static final long EVENTS_MS = 1000;

  private final Cluster.Host host;
  private final Vertx vertx;
  private final Path dir;
  private final HostPort control;
  private final long[] eventsAfter;
  private Context context;
  // Read by other threads (show cluster, health): volatile; written on the context only.
  private volatile String state = "starting";
  private volatile String reason;
  private volatile String problem;
  private volatile Instant lastContact;
  private volatile int applied = -1;
  private volatile long eventsMissed;
  /** The last revision received; a revision that failed is not tried again until the next or 30 s later. */
  private int seen = -1;
  /** The shared part of the last revision applied (kept on disk): what a forced change or a revert departs from. */
  private volatile String lastShared;
  /** The inspection CA's certificates as last kept from the control node; null: none yet. */
  private String caKept;
  private boolean stopped;
  private HttpClient joinClient;
  private HttpClient client;
  private long reportTimer = -1;
  private long eventsTimer = -1;
  private boolean sendingEvents;
  private boolean reporting;
  private boolean reportAgain;

  /** {@code eventsAfter}: the number of the last event sent, shared by the agents of one daemon (a restart of the
   * agent goes on from there). */
  ClusterNode(Cluster.Host host, Path dir, HostPort control, long[] eventsAfter) {
    this.host = host;
    this.vertx = host.vertx();
    this.dir = dir;
    this.control = control;
    this.eventsAfter = eventsAfter;
  }

  void start() {
    // A context of its own (an event loop's): timers, answers and the commit's completion all come back to it.
    context = ((io.vertx.core.internal.VertxInternal) vertx).createEventLoopContext();
    context.runOnContext(v -> {
      try {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
            "rwx------")));
        Path a = dir.resolve("applied");
        applied = Files.exists(a) ? Integer.parseInt(Files.readString(a).strip()) : -1;
        Path s = dir.resolve("shared.yaml");
        lastShared = Files.exists(s) ? Files.readString(s) : null;
      } catch (Exception e) {
        applied = -1;
      }
      seen = applied;
      if (eventsAfter[0] < 0) {
        eventsAfter[0] = host.events().follow(-1, 1, EventFilter.ALL).last();
      }
      if (certified()) {
        connect();
      } else {
        join();
      }
    });
  }

  /** True when the node holds a certificate in its own name (a renamed node joins again). */
  private boolean certified() {
    try {
      Path crt = dir.resolve("node.crt");
      if (!Files.exists(crt) || !Files.exists(dir.resolve("ca.crt")) || !Files.exists(dir.resolve("node.key"))) {
        return false;
      }
      X509Certificate c = ClusterCa.readCert(Files.readString(crt));
      if (!host.config().node().name().equals(ClusterCa.commonName(c))) {
        LOG.info("cluster: the certificate is for {}, this node is {} now: joining again", ClusterCa.commonName(c),
            host.config().node().name());
        return false;
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  void stop() {
    Context c = context;
    if (c == null) {
      return;
    }
    c.runOnContext(v -> {
      stopped = true;
      vertx.cancelTimer(reportTimer);
      vertx.cancelTimer(eventsTimer);
      if (client != null) {
        client.close();
      }
      if (joinClient != null) {
        joinClient.close();
      }
    });
  }

  private ClusterConfig cluster() {
    return host.config().cluster();
  }

  private List<String> locals() {
    List<String> locals = new ArrayList<>(ClusterConfig.ALWAYS_LOCAL);
    locals.addAll(cluster().local());
    return locals;
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

  /** Asks the control node for a certificate, proving the join key; retried every 5 s until it works. */
  private void join() {
    if (stopped) {
      return;
    }
    set("joining", null);
    String key = cluster().joinKey();
    String pin = cluster().caFingerprint();
    String name = host.config().node().name();
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
        .put("proof", ClusterCa.proof(key, "join", name, nonce, pub));
    if (joinClient == null) {
      // The control node's certificate cannot be checked by a CA yet: the answer's proof of the join key stands in
      // for it (and, with cluster.caFingerprint, the CA it names must be that one and have signed the server's).
      joinClient = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false)
          .setConnectTimeout(3000).setIdleTimeout(30));
    }
    X509Certificate[] server = new X509Certificate[1];
    joinClient.request(new RequestOptions().setMethod(HttpMethod.POST).setHost(control.host()).setPort(control.port())
        .setURI("/cluster/v1/join").setTimeout(10_000).putHeader("Content-Type", "application/json"))
        .compose(req -> req.send(body.encode()))
        .compose(resp -> {
          try {
            var chain = resp.request().connection().peerCertificates();
            server[0] = chain.isEmpty() ? null : (X509Certificate) chain.get(0);
          } catch (Exception e) {
            server[0] = null;
          }
          return resp.body().map(b -> new Object[] {resp.statusCode(), b});
        })
        .onComplete(ar -> {
          if (stopped) {
            return;
          }
          if (ar.failed()) {
            set("joining", "control node unreachable: " + ar.cause().getMessage());
            vertx.setTimer(5000, t -> join());
            return;
          }
          int status = (Integer) ar.result()[0];
          JsonObject answer;
          try {
            answer = ((Buffer) ar.result()[1]).toJsonObject();
          } catch (RuntimeException e) {
            answer = new JsonObject().put("error", "not JSON");
          }
          if (status != 200) {
            set("join refused", answer.getString("error", "status " + status).replaceFirst("^join refused: ", ""));
            vertx.setTimer(5000, t -> join());
            return;
          }
          String ca = answer.getString("ca", "");
          String cert = answer.getString("cert", "");
          String refused = null;
          if (!ClusterCa.sameProof(answer.getString("proof"), ClusterCa.proof(key, "joined", nonce, ca, cert))) {
            refused = "the control node's answer does not prove this node's join key (not our control node?)";
          } else if (pin != null) {
            try {
              X509Certificate caCert = ClusterCa.readCert(ca);
              if (!ClusterCa.fingerprint(caCert).equalsIgnoreCase(pin) || server[0] == null
                  || !ClusterCa.signedBy(server[0], caCert)) {
                refused = "the control node's CA is not the one in cluster.caFingerprint";
              }
            } catch (java.security.GeneralSecurityException e) {
              refused = "the control node's CA cannot be read: " + e.getMessage();
            }
          }
          if (refused != null) {
            set("join refused", refused);
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
        .compose(resp -> resp.body().compose(b -> answer(resp, b)));
  }

  private static Future<JsonObject> answer(HttpClientResponse resp, Buffer b) {
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
      return Future.failedFuture("the control node refused: " + j.getString("error", "status " + resp.statusCode()));
    }
    return Future.succeededFuture(j);
  }

  /** Waits for the next revision (long poll) and applies it; on failure, tries again after a second or five. */
  private void poll() {
    if (stopped) {
      return;
    }
    call(HttpMethod.GET, "/cluster/v1/config?after=" + seen + (caKept == null ? ""
        : "&ca=" + ClusterControl.sha256(caKept)), null, ClusterControl.HOLD_MS + 10_000)
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
            set(problem == null ? "in sync" : "failed", problem);
            poll();
            return;
          }
          int revision = answer.getInteger("revision");
          seen = revision;
          JsonObject ca = answer.getJsonObject("inspectionCa");
          keepCa(ca).compose(v -> apply(revision, answer.getString("text", ""))).onComplete(x -> {
            report();
            poll();
          });
        });
  }

  /**
   * Makes the control node's inspection CA this node's (kept on disk, in effect from the config compiled next), when
   * it is not already; a CA that cannot be used is this node's problem, reported, and its revision waits.
   */
  private Future<Void> keepCa(JsonObject ca) {
    if (ca == null || ca.getString("chain", "").equals(caKept)) {
      return Future.succeededFuture();
    }
    var t = new io.portcullis.daemon.tls.InspectionCa.Transfer(ca.getString("chain", ""), ca.getString("key", ""));
    return vertx.executeBlocking(() -> {
      host.useClusterInspectionCa(t);
      return null;
    }, false).transform(ar -> {
      if (ar.failed()) {
        problem = "the control node's inspection CA is not usable: " + ar.cause().getMessage();
        set("failed", problem);
        int revision = seen;
        vertx.setTimer(30_000, timer -> {
          if (seen == revision && applied != revision) {
            seen = applied; // try it again: what failed may have passed
          }
        });
        return Future.failedFuture(ar.cause());
      }
      caKept = t.chainPem();
      LOG.info("cluster: the control node's inspection CA is this node's");
      return Future.succeededFuture();
    });
  }

  /** Puts the control node's revision into effect here with the local keys kept; records it as applied. */
  private Future<Void> apply(int revision, String shared) {
    set("applying", null);
    List<String> locals = locals();
    // Merged in the commit queue against the text in effect then: a local commit just before is kept.
    return Future.fromCompletionStage(host.commits().commitFromControl(
            active -> {
              if (host.config().cluster().role() != ClusterConfig.Role.NODE
                  || !control.equals(host.config().cluster().control())) {
                // A local commit just before took this node out of the cluster, or to another control node.
                throw new IllegalStateException("this node no longer takes its config from " + control);
              }
              return ConfigEditor.withLocal(shared, active, locals);
            }, "control revision " + revision + " from "
                + control), context)
        .compose(rev -> vertx.executeBlocking(() -> {
          String own = ConfigEditor.withoutLocal(host.commits().active().text(), locals);
          AtomicFiles.write(dir.resolve("shared.yaml"), own.getBytes(StandardCharsets.UTF_8),
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // it holds password hashes
          AtomicFiles.write(dir.resolve("applied"), (revision + "\n").getBytes(StandardCharsets.US_ASCII), null);
          return new Object[] {rev, own};
        }, false)).transform(ar -> {
          if (stopped) {
            return Future.succeededFuture();
          }
          if (ar.succeeded()) {
            applied = revision;
            lastShared = (String) ar.result()[1];
            problem = null;
            set("in sync", null);
            LOG.info("cluster: control revision {} in effect as local revision {}", revision,
                ((Revision) ar.result()[0]).number());
          } else {
            Throwable c = ar.cause() instanceof java.util.concurrent.CompletionException && ar.cause().getCause() != null
                ? ar.cause().getCause() : ar.cause();
            String why = c.getMessage();
            if (c instanceof CommitManager.CommitException ce && !ce.problems().isEmpty()) {
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

  /**
   * A config went into effect here. A revert of this node's own commit confirmed brings back an older text whole,
   * the control node's keys included: the last revision from the control node is put back over it.
   */
  void activated(CommitManager.Active a, Revision rev) {
    Context c = context;
    String shared = lastShared;
    if (c == null || shared == null || !"system".equals(rev.author())) {
      return;
    }
    c.runOnContext(v -> {
      List<String> locals = locals();
      if (stopped || ConfigEditor.withoutLocal(a.text(), locals).equals(shared)) {
        return;
      }
      LOG.info("cluster: a revert brought back an older config of the control node's; control revision {} again",
          applied);
      apply(applied, shared).onComplete(x -> report());
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
    host.checkReadiness().onComplete(h -> context.runOnContext(x -> {
      JsonObject body = new JsonObject().put("revision", applied).put("localRevision",
          host.commits().active().revision()).put("state", state).put("version", io.portcullis.daemon.runtime.Version.get())
          .put("proxyPort", host.port("proxy")).put("icapPort", host.port("icap"))
          .put("eventsMissed", eventsMissed);
      if (problem != null) {
        body.put("problem", problem);
      }
      JsonArray notReady = new JsonArray();
      if (h.succeeded()) {
        body.put("ready", h.result().getUp());
        for (Object o : h.result().toJson().getJsonArray("checks", new JsonArray())) {
          if (o instanceof JsonObject c && !"UP".equals(c.getString("status"))) {
            notReady.add(c.getString("id"));
          }
        }
      } else {
        body.put("ready", false);
      }
      body.put("notReady", notReady);
      body.put("balancer", host.balancerStatus());
      List<String> locals = locals();
      // The scrape walks every meter, the comparison parses YAML: off the event loop.
      vertx.executeBlocking(() -> {
        String shared = lastShared;
        body.put("localChanges", shared != null && !ConfigEditor.withoutLocal(host.commits().active().text(),
            locals).equals(shared));
        return body.put("metrics", host.scrape());
      }, false).compose(b -> call(HttpMethod.POST, "/cluster/v1/status", b, 5000)).onComplete(ar -> {
        reporting = false;
        if (ar.succeeded()) {
          lastContact = Instant.now();
        }
        if (reportAgain) {
          reportAgain = false;
          report();
        }
      });
    }));
  }

  /** Sends the events recorded since the last send, a batch at a time, the next at once while batches are full. */
  private void sendEvents() {
    if (stopped || sendingEvents) {
      return;
    }
    Events.Page page = host.events().follow(eventsAfter[0], ClusterControl.MAX_EVENTS, EventFilter.ALL);
    eventsMissed += page.missed(); // overwritten in the ring before they could be sent: counted, shown
    if (page.events().isEmpty()) {
      eventsAfter[0] = page.last();
      return;
    }
    JsonArray list = new JsonArray();
    page.events().forEach(e -> list.add(e.toJson()));
    sendingEvents = true;
    call(HttpMethod.POST, "/cluster/v1/events", new JsonObject().put("events", list), 10_000).onComplete(ar -> {
      sendingEvents = false;
      if (ar.succeeded()) {
        eventsAfter[0] = page.last();
        if (page.events().size() == ClusterControl.MAX_EVENTS) {
          sendEvents();
        }
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
    if (eventsMissed > 0) {
      o.put("eventsMissed", eventsMissed);
    }
    return o;
  }
}
