package io.portcullis.daemon.proxy.impl;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.pages.ErrorPage;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.LingeringClose;
import io.portcullis.daemon.tls.OriginTrust;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The proxy's own answers: its error pages, and the page for an origin that could not be reached. */
final class Pages {
  private static final Logger LOG = LoggerFactory.getLogger(Pages.class);
  /** Set once an error answer closes the connection: a request Vert.x decoded behind it must not be served. */
  static final AttributeKey<Boolean> CLOSING = AttributeKey.valueOf("portcullis.closing");

  private Pages() {
  }

  /** Our page for {@code status}; {@code close}: the connection closes after it, unread input discarded. */
  static Answer page(int status, String title, String detail, boolean close) {
    return new Answer() {
      @Override
      public void send(Exchange ex) {
        write(ex, status, title, detail, close);
      }

      @Override
      public void discard() {
      }
    };
  }

  /** True when an earlier answer on this connection closes it: nothing more is served. */
  static boolean closing(HttpServerRequest req) {
    return DefaultExchange.channel(req).attr(CLOSING).get() != null;
  }

  private static void write(Exchange ex, int status, String title, String detail, boolean close) {
    HttpServerRequest req = ex.request();
    byte[] body = ErrorPage.render(status, title, detail, ex.settings().node()).getBytes(StandardCharsets.UTF_8);
    HttpServerResponse r = req.response().setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    // A CONNECT answered with an error closes: the framing guard took the rest of the connection for a tunnel.
    boolean closes = close || req.method() == HttpMethod.CONNECT;
    Channel ch = DefaultExchange.channel(req);
    if (closes) {
      r.putHeader(HttpHeaders.CONNECTION, "close");
      // Before the answer ends (Vert.x then dispatches what was pipelined): nothing after this request is served,
      // and nothing more is even decoded.
      ch.attr(CLOSING).set(Boolean.TRUE);
      LingeringClose.discardInput(ch);
    }
    Future<Void> sent = r.end(Buffer.buffer(body));
    if (closes) {
      sent.onComplete(v -> LingeringClose.close(ch));
    }
  }

  /** The origin {@code target} answered what cannot be passed on ({@code why}): a 502 page. */
  static Answer badAnswer(Exchange ex, HostPort target, String why) {
    LOG.debug("upstream {} answered {}", target, why);
    return ex.over() ? Answer.NONE : page(502, "Bad gateway", "The web server " + target
        + " sent an answer that cannot be passed on.", false);
  }

  /** The origin {@code target} failed: a 504 or 502 page, or a close when the answer has begun. */
  static Answer upstreamFailed(Exchange ex, Throwable cause, HostPort target) {
    boolean timeout = cause instanceof TimeoutException || String.valueOf(cause.getMessage()).contains("timeout")
        || String.valueOf(cause.getMessage()).contains("timed out");
    LOG.debug("upstream {} failed: {}", target, cause.toString());
    if (ex.over()) {
      return Answer.NONE;
    }
    OriginTrust.Untrusted untrusted = OriginTrust.Untrusted.in(cause);
    if (untrusted != null) {
      if (ex.settings().interception() != null) {
        ex.settings().interception().counters().untrusted(untrusted.reason());
      }
      ex.record().decide("error", "proxy.tls: origin not trusted");
      ex.record().tls = "error";
      return page(502, "Untrusted web site", "The web server " + target.host() + " cannot be trusted: its "
          + "certificate is not trusted: " + untrusted.getMessage() + ".", false);
    }
    if (ex.request().response().headWritten()) {
      ex.request().connection().close();
      return Answer.NONE;
    }
    return timeout ? page(504, "Gateway timeout", "The web server " + target + " did not answer in time.", false)
        : page(502, "Bad gateway", "The web server " + target + " could not be reached.", false);
  }
}
