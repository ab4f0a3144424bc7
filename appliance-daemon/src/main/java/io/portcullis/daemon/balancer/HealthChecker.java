package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.BalancerConfig.CheckType;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the servers of a commit's frontends apart from their traffic (as HAProxy's checks.c): every {@code interval}
 * a connect (tcp), a GET (http) or an OPTIONS (icap), each within {@code timeout}; {@code fall} failures in a row take
 * a server down, {@code rise} passes bring it back. Changes are logged and counted in {@link ServerStats}.
 */
final class HealthChecker {
  private static final Logger LOG = LoggerFactory.getLogger(HealthChecker.class);

  private final Vertx vertx;
  private final List<Frontend> frontends;
  private final List<NetClient> netClients = new ArrayList<>();
  private final List<HttpClient> httpClients = new ArrayList<>();
  private volatile boolean stopped;

  HealthChecker(Vertx vertx, List<Frontend> frontends) {
    this.vertx = vertx;
    this.frontends = frontends;
  }

  /** Starts checking every server that is not disabled; a frontend with checks off counts its servers up. */
  void start() {
    for (Frontend f : frontends) {
      BalancerConfig.Check c = f.config().check();
      if (c.type() == CheckType.NONE) {
        f.servers().forEach(s -> report(f, s, s.stats().unchecked(), "checks off"));
        continue;
      }
      int timeout = (int) Math.max(1, c.timeout().toMillis());
      NetClient net = vertx.createNetClient(new NetClientOptions().setConnectTimeout(timeout));
      netClients.add(net);
      HttpClient http = c.type() == CheckType.HTTP ? vertx.createHttpClient(new HttpClientOptions()
          .setConnectTimeout(timeout).setKeepAlive(false).setDecompressionSupported(false)) : null;
      if (http != null) {
        httpClients.add(http);
      }
      for (Server s : f.servers()) {
        if (s.config().state() != BalancerConfig.AdminState.DISABLED) {
          // The first check comes soon, spread so that many servers are not checked in one burst.
          long first = 1 + ThreadLocalRandom.current().nextLong(Math.max(1, Math.min(c.interval().toMillis(), 200)));
          vertx.setTimer(first, t -> check(f, s, net, http));
        }
      }
    }
  }

  /** Stops checking; a check under way finishes without effect. */
  void stop() {
    stopped = true;
    netClients.forEach(NetClient::close);
    httpClients.forEach(HttpClient::close);
  }

  private void check(Frontend f, Server s, NetClient net, HttpClient http) {
    if (stopped) {
      return;
    }
    BalancerConfig.Check c = f.config().check();
    String host = s.address().host();
    int port = c.port() > 0 ? c.port() : s.address().port();
    long start = System.nanoTime();
    Promise<String> result = Promise.promise();
    long timer = vertx.setTimer(Math.max(1, c.timeout().toMillis()),
        t -> result.tryFail("no answer within " + c.timeout().toMillis() + " ms"));
    Future<String> attempt = switch (c.type()) {
      case TCP -> net.connect(port, host).map(sock -> {
        sock.close();
        return "connected";
      });
      case HTTP -> http.request(new RequestOptions().setMethod(HttpMethod.GET).setHost(host).setPort(port)
              .setURI(c.target()).setIdleTimeout(Math.max(1, c.timeout().toMillis()))) // a hung server: no pile-up
          .compose(req -> req.send())
          .compose(res -> res.body().map(b -> res.statusCode()))
          .compose(status -> c.expect().isEmpty() ? (status < 500 ? Future.succeededFuture("HTTP " + status)
              : Future.failedFuture("HTTP " + status)) : c.expect().contains(status)
              ? Future.succeededFuture("HTTP " + status) : Future.failedFuture("HTTP " + status + ", expected "
              + c.expect()));
      case ICAP -> io.portcullis.daemon.icap.client.IcapProbe.options(net, host, port, c.target(), result.future());
      case NONE -> Future.succeededFuture("not checked");
    };
    attempt.onComplete(ar -> {
      if (ar.succeeded()) {
        result.tryComplete(ar.result());
      } else {
        result.tryFail(ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage());
      }
    });
    result.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (stopped) {
        return;
      }
      long ms = (System.nanoTime() - start) / 1_000_000;
      String detail = ar.succeeded() ? ar.result() : ar.cause().getMessage();
      report(f, s, s.stats().checked(ar.succeeded(), detail, ms, c.rise(), c.fall()), detail);
      vertx.setTimer(Math.max(1, c.interval().toMillis()), t -> check(f, s, net, http));
    });
  }

  private static void report(Frontend f, Server s, Boolean change, String detail) {
    if (change == null) {
      return;
    }
    long up = f.servers().stream().filter(x -> x.stats().up() && !x.backup()).count();
    long backups = f.servers().stream().filter(x -> x.stats().up() && x.backup()).count();
    if (change) {
      LOG.info("balancer {}: server {} ({}) is UP ({}); {} active and {} backup servers up", f.name(), s.name(),
          s.address(), detail, up, backups);
    } else {
      LOG.warn("balancer {}: server {} ({}) is DOWN ({}); {} active and {} backup servers up", f.name(), s.name(),
          s.address(), detail, up, backups);
    }
  }
}
