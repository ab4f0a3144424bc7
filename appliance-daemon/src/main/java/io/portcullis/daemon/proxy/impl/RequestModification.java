package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.icap.client.IcapClient;
import io.portcullis.daemon.icap.client.Reqmod;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.BasicAuth;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * REQMOD: the ICAP services see the request (a CONNECT too, as Squid sends it) before it goes on. Their answer
 * lets it pass (204), changes it (a new request line, headers or body), or answers for the origin (a block page, a
 * redirect). When ICAP fails, proxy.icap.onError decides: bypass passes it unscanned, block answers 503.
 */
record RequestModification(IcapClient icap) implements ExchangeStep {
  private static final Logger LOG = LoggerFactory.getLogger(RequestModification.class);

  @Override
  public Future<Answer> request(Exchange ex) {
    if (ex.settings().reqmod().isEmpty()) {
      return ex.next();
    }
    HttpServerRequest req = ex.request();
    boolean connect = req.method() == HttpMethod.CONNECT;
    Reqmod reqmod = new Reqmod(icap, ex.settings().reqmod(), ex.settings().proxy().icap().maxBufferedBody());
    long t0 = System.nanoTime();
    return reqmod.ask(asker(ex), ex.head(), Targeting.hasBody(req) ? req : null).transform(ar -> {
      ex.record().icapNanos += System.nanoTime() - t0;
      if (ex.over()) {
        return Future.succeededFuture(Answer.NONE); // timed out or gone while ICAP answered
      }
      if (ar.failed()) {
        return failed(ex, ar.cause());
      }
      IcapClient.Answer a = ar.result();
      IcapResponse r = a == null ? null : a.head();
      if (r != null) {
        ex.record().icapAnswered(r, -1);
      }
      if (r == null || r.status() == 204 || connect && r.status() == 200 && r.httpResponse() == null) {
        return ex.next();
      }
      if (r.status() == 200 && r.httpResponse() != null) {
        // The ICAP server answered for the origin: a block page or a redirect.
        ex.record().code = r.httpResponse().status() >= 300 && r.httpResponse().status() < 400
            ? "TCP_REDIRECT" : "TCP_DENIED";
        return Future.succeededFuture(Relay.message(r.httpResponse(), a.body(), connect));
      }
      if (r.status() == 200 && r.httpRequest() != null) {
        adapt(ex, r.httpRequest());
        if (r.body().hasBody()) {
          ex.body(a.body());
        }
        return ex.next();
      }
      return failed(ex, new IllegalStateException("ICAP answered " + r.status() + " " + r.reason()));
    });
  }

  /** Who asks, as the ICAP services are told. */
  static Reqmod.Asker asker(Exchange ex) {
    BasicAuth.User u = ex.record().user;
    return new Reqmod.Asker(ex.record().client, u == null ? null : u.name(), u == null ? List.of() : u.groups());
  }

  /** REQMOD changed the request: its line and headers replace the user's, and its URL the target. */
  private static void adapt(Exchange ex, HttpHead changed) {
    ex.head(changed, true);
    Target t = ex.target();
    String uri = changed.target();
    if (uri.regionMatches(true, 0, "http://", 0, 7)) {
      int slash = uri.indexOf('/', 7);
      String authority = slash < 0 ? uri.substring(7) : uri.substring(7, slash);
      HostPort o = Target.hostPort(authority, 80);
      ex.target(new Target(t.scheme(), o == null ? t.origin() : o, authority, slash < 0 ? "/" : uri.substring(slash)));
    } else if (uri.startsWith("/")) {
      ex.target(new Target(t.scheme(), t.origin(), t.authority(), uri));
    }
  }

  /** ICAP could not answer: onError bypass passes the request on unscanned, block answers with the 503 page. */
  static Future<Answer> failed(Exchange ex, Throwable cause) {
    ProxyConfig.ProxyIcap.OnError onError = ex.settings().proxy().icap().onError();
    LOG.warn("ICAP failed for {}: {} ({})", Logs.escape(ex.request().uri()), cause.getMessage(), onError);
    boolean bypass = onError == ProxyConfig.ProxyIcap.OnError.BYPASS;
    ex.record().decide(bypass ? "allow" : "error", "proxy.icap.onError"); // the event says it went unscanned
    if (bypass) {
      return ex.next();
    }
    if (ex.request().response().headWritten()) {
      ex.request().connection().close();
      return Future.succeededFuture(Answer.NONE);
    }
    return Future.succeededFuture(ex.page(503, "Service unavailable",
        "The content scanning service is not available; try again later.", false));
  }
}
