package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.http1.HopByHop;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.net.TrustOptions;
import io.portcullis.daemon.tls.Interception;
import io.portcullis.daemon.tls.OriginTrust;
import java.util.Set;

/**
 * The last step of a request: it goes to the origin over a pooled keep-alive connection (TLS for the https requests
 * of inspected tunnels, the origin checked by proxy.tls's trust: {@link OriginTrust}), with end-to-end headers,
 * {@code Via} and (proxy.xForwardedFor) X-Forwarded-For; the body streams with back-pressure, or REQMOD's
 * replacement goes whole. Its answer is the origin's response, paused until it is relayed.
 */
record Forward(Vertx vertx, HttpClientAgent client, Object[] originTls) implements ExchangeStep {
  /**
   * Forwards with {@code client}; the TLS options of https origins are made once per origin trust (per commit that
   * changes it): only the last pair is kept (the options hold their trust, so a weak map would keep every one).
   */
  Forward(Vertx vertx, HttpClientAgent client) {
    this(vertx, client, new Object[2]);
  }

  /** The client TLS options for {@code trust}: those made last if they are its, else new ones (event-loop confined). */
  private ClientSSLOptions optionsFor(OriginTrust trust, ProxyConfig s) {
    if (originTls[0] != trust) {
      originTls[1] = new ClientSSLOptions().setTrustOptions(TrustOptions.wrap(trust)).setHostnameVerificationAlgorithm("")
          .setEnabledSecureTransportProtocols(Set.of(Interception.PROTOCOLS))
          .setSslHandshakeTimeout(s.connectTimeout().toMillis())
          .setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS);
      originTls[0] = trust;
    }
    return (ClientSSLOptions) originTls[1];
  }

  @Override
  public Future<Answer> request(Exchange ex) {
    Target target = ex.target();
    HostPort connectTo = target.origin();
    Bump.Inspected in = "https".equals(target.scheme())
        ? DefaultExchange.channel(ex.request()).attr(Bump.INSPECTED).get() : null;
    if (in != null && in.host().equalsIgnoreCase(target.origin().host())) {
      // Where the client's CONNECT went (an address, say, with the name in the SNI): the name is for TLS and Host.
      connectTo = in.origin();
    }
    return Destination.resolve(vertx, ex, connectTo, address -> send(ex, address));
  }

  private Future<Answer> send(Exchange ex, SocketAddress address) {
    ProxyConfig s = ex.settings().proxy();
    Target target = ex.target();
    HttpServerRequest req = ex.request();
    HttpMethod method = ex.adapted() ? HttpMethod.valueOf(ex.head().method()) : req.method();
    RequestOptions options = new RequestOptions().setMethod(method).setHost(target.origin().host())
        .setPort(target.origin().port()).setServer(address).setURI(target.path())
        .setIdleTimeout(s.upstreamTimeout().toMillis());
    if ("https".equals(target.scheme())) {
      // One options object per trust: the client keeps one TLS context and one pool per options object.
      options.setSsl(true).setSslOptions(optionsFor(ex.settings().interception().trust(), s));
    }
    long t0 = System.nanoTime();
    return client.request(options).transform(ar -> {
      if (ar.failed()) {
        return Future.succeededFuture(Pages.upstreamFailed(ex, ar.cause(), target.origin()));
      }
      HttpClientRequest up = ar.result();
      if (ex.over()) {
        up.reset(); // timed out or gone while the connection was being found
        return Future.succeededFuture(Answer.NONE);
      }
      ex.onAbort(up::reset);
      ex.record().peer = target.origin().host();
      headers(ex, up, s);
      return body(ex, up).transform(res -> {
        ex.record().upstreamNanos = System.nanoTime() - t0;
        if (res.failed()) {
          return Future.succeededFuture(Pages.upstreamFailed(ex, res.cause(), target.origin()));
        }
        String unframed = unframed(res.result());
        if (unframed != null) {
          up.reset(); // what follows on that connection cannot be told apart: it is not reused
          return Future.succeededFuture(Pages.badAnswer(ex, target.origin(), unframed));
        }
        res.result().pause(); // until it is relayed, or RESPMOD reads it
        return Future.succeededFuture(Relay.origin(res.result(), Buffer.buffer(), false));
      });
    });
  }

  /**
   * Why the origin's answer cannot be passed on, or null. A 101 answers an Upgrade this proxy never sends (Upgrade is
   * hop-by-hop), so it would turn the user's connection into a tunnel nobody asked for; a Transfer-Encoding other
   * than chunked alone leaves the body's end to a guess (RFC 9112 6.3: HAProxy answers 502 to both).
   */
  private static String unframed(HttpClientResponse res) {
    if (res.statusCode() == 101) {
      return "101 Switching Protocols to a request without Upgrade";
    }
    var codings = res.headers().getAll(HttpHeaders.TRANSFER_ENCODING);
    if (!codings.isEmpty() && (codings.size() > 1 || !codings.get(0).strip().equalsIgnoreCase("chunked"))) {
      return "Transfer-Encoding " + String.join(", ", codings);
    }
    return null;
  }

  /** The origin's request headers: REQMOD's if it changed them, else the user's end-to-end ones. */
  private static void headers(Exchange ex, HttpClientRequest up, ProxyConfig s) {
    HttpServerRequest req = ex.request();
    if (ex.adapted()) {
      for (Headers.Field f : ex.head().headers().fields()) {
        if (!HopByHop.hopByHop(f.name())) {
          up.headers().add(f.name(), f.value());
        }
      }
    } else {
      HopByHop.copyHeaders(req.headers(), up.headers());
    }
    up.headers().set(HttpHeaders.HOST, ex.target().authority()); // the absolute URI's authority wins (RFC 9112)
    up.headers().add("Via", ex.via(req.version().alpnName()));
    if (s.xForwardedFor() && req.remoteAddress() != null) {
      String prior = req.headers().get("X-Forwarded-For");
      up.headers().set("X-Forwarded-For", (prior == null ? "" : prior + ", ") + req.remoteAddress().hostAddress());
    }
  }

  /** Sends the body: REQMOD's replacement whole, else the user's streamed (none if the request has none). */
  private static Future<HttpClientResponse> body(Exchange ex, HttpClientRequest up) {
    HttpServerRequest req = ex.request();
    Buffer replaced = ex.body();
    boolean hasBody = req.headers().contains(HttpHeaders.CONTENT_LENGTH)
        || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
    if (replaced != null) {
      up.headers().remove(HttpHeaders.TRANSFER_ENCODING);
      up.headers().set(HttpHeaders.CONTENT_LENGTH, Integer.toString(replaced.length()));
      return up.send(replaced);
    }
    if (hasBody) {
      if (!req.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
        up.setChunked(true);
      }
      return up.send(req);
    }
    req.resume();
    return up.send();
  }
}
