package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;

/**
 * Reads where the request goes: an absolute {@code http://} URL, or a CONNECT's host:port to one of
 * proxy.connectPorts. Anything else is refused here, before any rule or origin sees it. The request is paused from
 * here on: its body waits for REQMOD or the origin.
 */
record Targeting() implements ExchangeStep {
  @Override
  public Future<Answer> request(Exchange ex) {
    HttpServerRequest req = ex.request();
    String uri = req.uri();
    Target target;
    if (req.method() == HttpMethod.CONNECT) {
      target = Target.connect(uri);
      if (target == null) {
        return refuse(ex, 400, "Bad request", "CONNECT needs host:port.");
      }
      ex.target(target);
      ex.record().host = target.origin().host();
      if (!ex.settings().proxy().connectPorts().contains(target.origin().port())) {
        ex.record().decide("block", "proxy.connectPorts");
        return refuse(ex, 403, "Access denied", "Tunnels to port " + target.origin().port() + " are not allowed.");
      }
    } else {
      if (!uri.regionMatches(true, 0, "http://", 0, 7)) {
        return refuse(ex, 400, "Bad request", uri.regionMatches(true, 0, "https://", 0, 8)
            ? "https:// URLs go through CONNECT." : "This is a proxy: the request line needs an absolute http:// URL.");
      }
      target = Target.absolute(uri);
      if (target == null) {
        return refuse(ex, 400, "Bad request", "The URL has no valid host.");
      }
      ex.target(target);
      ex.record().host = target.origin().host();
    }
    req.pause();
    ex.head(Relay.head(req.method().name() + " " + uri + " HTTP/1.1", req.headers(), target.authority()), false);
    return ex.next();
  }

  private static Future<Answer> refuse(Exchange ex, int status, String title, String detail) {
    return Future.succeededFuture(ex.page(status, title, detail, true));
  }

  /** True when the request announces a body (a Content-Length other than 0, or a Transfer-Encoding). */
  static boolean hasBody(HttpServerRequest req) {
    return req.headers().contains(HttpHeaders.CONTENT_LENGTH) && !"0".equals(req.headers().get(
        HttpHeaders.CONTENT_LENGTH)) || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }
}
