package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;

/**
 * The last step of a CONNECT: a TCP connection to the target, then the user's connection becomes a tunnel to it,
 * bytes both ways with back-pressure, counted for the access log. The tunnel lives until either side closes or
 * idles out; proxy.requestTimeout does not cut it.
 */
record Tunnel(Vertx vertx, NetClient tunnels) implements ExchangeStep {
  @Override
  public Future<Answer> request(Exchange ex) {
    Target target = ex.target();
    return Destination.resolve(vertx, ex, target.origin(), address -> open(ex, address));
  }

  private Future<Answer> open(Exchange ex, SocketAddress address) {
    Target target = ex.target();
    return tunnels.connect(address).transform(ar -> {
      if (ar.succeeded() && ex.over()) {
        ar.result().close();
        return Future.succeededFuture(Answer.NONE);
      }
      if (ar.failed()) {
        ex.request().resume();
        return Future.succeededFuture(Pages.upstreamFailed(ex, ar.cause(), target.origin()));
      }
      NetSocket upstream = ar.result();
      return ex.request().toNetSocket().transform(sock -> {
        if (sock.failed()) {
          upstream.close();
          return Future.succeededFuture(Answer.NONE);
        }
        splice(ex, sock.result(), upstream);
        return Future.succeededFuture(Answer.NONE);
      });
    });
  }

  /** Joins the user's connection to the origin's, counting the bytes the user gets. */
  private static void splice(Exchange ex, NetSocket client, NetSocket upstream) {
    DefaultExchange de = (DefaultExchange) ex;
    de.tunnelled();
    ex.record().code = "TCP_TUNNEL";
    ex.record().peer = ex.target().origin().host();
    ex.record().tunnelled = 0;
    client.closeHandler(v -> de.finished());
    client.pipeTo(upstream);
    // Not pipeTo: the bytes the client gets are counted for the access log.
    upstream.handler(b -> {
      ex.record().tunnelled += b.length();
      client.write(b);
      if (client.writeQueueFull()) {
        upstream.pause();
        client.drainHandler(v -> upstream.resume());
      }
    });
    upstream.endHandler(v -> client.end());
    upstream.exceptionHandler(e -> client.close());
  }
}
