package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.icap.client.IcapClient;
import io.portcullis.daemon.icap.client.Respmod;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.ProxySettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RESPMOD, on the way back: the origin's response goes through the ICAP services ({@link Respmod}) before the
 * user sees it. Answers the proxy or an ICAP server made are not sent to RESPMOD (as Squid does not).
 */
record ResponseModification(Vertx vertx, IcapClient icap) implements ExchangeStep {
  private static final Logger LOG = LoggerFactory.getLogger(ResponseModification.class);

  @Override
  public Future<Answer> answer(Exchange ex, Answer answer) {
    ProxySettings s = ex.settings();
    if (s.respmod().isEmpty() || !(answer instanceof Relay.FromOrigin origin)) {
      return Future.succeededFuture(answer);
    }
    HttpClientResponse res = origin.res();
    int status = res.statusCode();
    boolean noBody = ex.request().method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    long length;
    try {
      String cl = res.getHeader(HttpHeaders.CONTENT_LENGTH);
      length = cl == null ? -1 : Long.parseLong(cl.strip());
    } catch (NumberFormatException e) {
      length = -1;
    }
    Respmod t = new Respmod(vertx, icap, s.respmod(), s.proxy().icap().timeout(),
        s.proxy().icap().maxBufferedBody());
    ex.onAbort((DefaultExchange.BeforeAnswer) t::abandon);
    Respmod.Origin o = new Respmod.Origin(Relay.head("HTTP/1.1 " + status + " "
        + (res.statusMessage() == null ? "" : res.statusMessage()), res.headers(), null), noBody, length, res,
        () -> res.request().reset());
    return t.start(RequestModification.asker(ex), ex.head(), o).transform(ar -> {
      if (ar.succeeded()) {
        Respmod.Outcome out = ar.result();
        ex.record().icapNanos += out.icapNanos();
        ex.record().icapAnswered(out.answer(), status);
        if (out instanceof Respmod.Adapted a) {
          return Future.succeededFuture(Relay.adapted(a.answer().httpResponse(), a.answer().body().hasBody(),
              a.body(), t::abandon, () -> ex.record().decide("error", "proxy.icap.onError")));
        }
        Respmod.Unchanged u = (Respmod.Unchanged) out;
        return Future.succeededFuture(Relay.origin(res, u.read(), u.ended()));
      }
      if (!(ar.cause() instanceof Respmod.Failed f)) {
        return Future.failedFuture(ar.cause());
      }
      if (f.byOrigin) {
        return Future.succeededFuture(Pages.upstreamFailed(ex, f.getCause(), ex.target().origin()));
      }
      boolean bypass = f.bypassable && !ex.request().response().headWritten()
          && s.proxy().icap().onError() == ProxyConfig.ProxyIcap.OnError.BYPASS;
      ex.record().decide(bypass ? "allow" : "error", "proxy.icap.onError");
      if (ex.request().response().headWritten()) {
        ex.request().connection().close();
        return Future.succeededFuture(Answer.NONE);
      }
      LOG.warn("ICAP failed for {}: {} ({})", Logs.escape(ex.request().uri()), f.getMessage(),
          bypass ? "bypass" : "block");
      if (bypass) {
        return Future.succeededFuture(Relay.origin(res, f.read, f.ended));
      }
      res.request().reset();
      return Future.succeededFuture(ex.page(503, "Service unavailable",
          "The content scanning service is not available; try again later.", false));
    });
  }
}
