package io.portcullis.daemon;

import io.portcullis.daemon.proxy.ProxySettings;
import io.portcullis.daemon.runtime.ServiceState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The readiness checks beyond each service's own state: the ICAP services the proxy needs when it fails closed, and
 * the scan engines. What they look at comes in as suppliers, so nothing here reaches back into the daemon.
 */
final class Readiness {
  private final Vertx vertx;
  private final Supplier<ProxySettings> proxy;
  private final Supplier<io.portcullis.daemon.scan.Scanner> scanner;

  /** {@code proxy}: the running proxy's settings (null when it does not run); {@code scanner}: the one in effect. */
  Readiness(Vertx vertx, Supplier<ProxySettings> proxy, Supplier<io.portcullis.daemon.scan.Scanner> scanner) {
    this.vertx = vertx;
    this.proxy = proxy;
    this.scanner = scanner;
  }

  /** A service's state as a health check's status, with its address and the reason it failed. */
  static Status of(ServiceState s) {
    JsonObject data = new JsonObject().put("state", s.kind().name().toLowerCase());
    if (s.address() != null) {
      data.put("address", s.address());
    }
    if (s.reason() != null) {
      data.put("reason", s.reason());
    }
    return s.healthy() ? Status.OK(data) : Status.KO(data);
  }

  /** Ready only if the directory of proxy.auth.ldap answers (a base read of its userBase), when there is one. */
  void directory(io.vertx.core.Promise<Status> p) {
    ProxySettings s = proxy.get();
    io.portcullis.daemon.identity.Directory d = s == null || s.auth() == null ? null : s.auth().directory();
    if (d == null) {
      p.complete(Status.OK(new JsonObject().put("used", false)));
      return;
    }
    vertx.executeBlocking(() -> {
      d.probe();
      return null;
    }, false).onComplete(ar -> p.complete(ar.succeeded() ? Status.OK(new JsonObject().put("url", d.config().url()))
        : Status.KO(new JsonObject().put("url", d.config().url()).put("reason", ar.cause().getMessage()))));
  }

  /**
   * Ready only if the proxy can reach an ICAP service of each list it uses — when it fails closed (onError block):
   * with bypass, traffic flows unscanned and the proxy stays ready. One OPTIONS per service, in order, until one
   * answers 200.
   */
  void icapClient(io.vertx.core.Promise<Status> p) {
    ProxySettings s = proxy.get();
    if (s == null) {
      p.complete(Status.OK(new JsonObject().put("used", false)));
      return;
    }
    if (s.proxy().icap().onError() == io.portcullis.daemon.config.ProxyConfig.ProxyIcap.OnError.BYPASS) {
      p.complete(Status.OK(new JsonObject().put("onError", "bypass")));
      return;
    }
    if (probeNet == null) {
      probeNet = vertx.createNetClient(new io.vertx.core.net.NetClientOptions().setConnectTimeout(1500));
    }
    List<Future<String>> lists = new ArrayList<>();
    for (var list : List.of(s.reqmod(), s.respmod())) {
      if (!list.isEmpty()) {
        lists.add(firstAnswering(list, 0, new ArrayList<>()));
      }
    }
    Future.join(lists).onComplete(x -> {
      JsonObject data = new JsonObject().put("onError", "block");
      List<String> down = new ArrayList<>();
      for (Future<String> f : lists) {
        if (f.failed()) {
          down.add(f.cause().getMessage());
        }
      }
      p.complete(down.isEmpty() ? Status.OK(data) : Status.KO(data.put("reason", "the proxy fails closed and "
          + String.join("; ", down))));
    });
  }

  /** The first service of {@code list} (from {@code i}) that answers OPTIONS; fails naming why each did not. */
  private Future<String> firstAnswering(List<io.portcullis.daemon.icap.client.IcapService> list, int i,
      List<String> why) {
    if (i == list.size()) {
      return Future.failedFuture("no ICAP service answers: " + String.join(", ", why));
    }
    io.portcullis.daemon.icap.client.IcapService svc = list.get(i);
    io.vertx.core.Promise<String> done = io.vertx.core.Promise.promise();
    long timer = vertx.setTimer(2000, t -> done.tryFail("no answer within 2000 ms"));
    String path = java.net.URI.create(svc.uri()).getRawPath();
    io.portcullis.daemon.icap.client.IcapProbe.options(probeNet, svc.host(), svc.port(), path, done.future())
        .onComplete(ar -> {
          if (ar.succeeded()) {
            done.tryComplete(ar.result());
          } else {
            done.tryFail(ar.cause().getMessage() == null ? ar.cause().toString() : ar.cause().getMessage());
          }
        });
    return done.future().transform(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        return Future.succeededFuture(svc.uri());
      }
      why.add(svc.uri() + ": " + ar.cause().getMessage());
      return firstAnswering(list, i + 1, why);
    });
  }

  /** Ready only if every scan engine can scan (clamd answers PING); asked at most every 2 s, one ask at a time. */
  void scan(io.vertx.core.Promise<Status> p) {
    Object[] last = scanHealthCache;
    if (last != null && System.nanoTime() - (long) last[0] < 2_000_000_000L) {
      p.complete((Status) last[1]);
      return;
    }
    Future<Status> ask;
    synchronized (this) {
      io.portcullis.daemon.scan.Scanner scanner = this.scanner.get();
      if (scanner == null) {
        p.complete(Status.OK());
        return;
      }
      if (scanHealthAsk == null || scanHealthAsk.isComplete()) {
        // One worker at most, even while clamd hangs and probes keep coming.
        scanHealthAsk = vertx.executeBlocking(scanner::problems, false).map(problems -> {
          Status st = problems.isEmpty() ? Status.OK()
              : Status.KO(new JsonObject().put("reason", String.join("; ", problems)));
          scanHealthCache = new Object[] {System.nanoTime(), st};
          return st;
        });
      }
      ask = scanHealthAsk;
    }
    ask.onComplete(ar -> p.tryComplete(ar.succeeded() ? ar.result()
        : Status.KO(new JsonObject().put("reason", String.valueOf(ar.cause())))));
  }

  private Future<Status> scanHealthAsk;
  private volatile Object[] scanHealthCache;
  private io.vertx.core.net.NetClient probeNet;
}
