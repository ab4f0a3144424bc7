package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.rules.CidrMatcher;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the proxy may connect: the target's host resolved once, and the address connected to is the address
 * checked against proxy.deniedDestinations and the node's own ports (no DNS-rebinding way round).
 */
final class Destination {
  private static final Logger LOG = LoggerFactory.getLogger(Destination.class);

  private Destination() {
  }

  /**
   * Resolves {@code target} and yields {@code then}'s answer for the address to connect to, or the answer refusing
   * it: 403 when the address is denied (said in the event and access log), 502/504 when the name does not resolve.
   */
  static Future<Answer> resolve(Vertx vertx, Exchange ex, HostPort target,
      Function<SocketAddress, Future<Answer>> then) {
    byte[] literal = CidrMatcher.literal(target.host());
    Future<InetAddress> resolved;
    try {
      resolved = literal != null ? Future.succeededFuture(InetAddress.getByAddress(literal))
          : ((VertxInternal) vertx).nameResolver().resolve(target.host());
    } catch (UnknownHostException e) {
      resolved = Future.failedFuture(e);
    }
    return resolved.transform(ar -> {
      if (ex.over()) {
        return Future.succeededFuture(Answer.NONE);
      }
      if (ar.failed()) {
        ex.request().resume();
        return Future.succeededFuture(Pages.upstreamFailed(ex, ar.cause(), target));
      }
      String refusal = ex.settings().destinations().refusal(ar.result(), target.port());
      if (refusal != null) {
        ex.request().resume();
        ex.record().decide("block", "proxy.deniedDestinations");
        LOG.info("refused {} for {}: {}", Logs.escape(ex.request().uri()), ex.request().remoteAddress(), refusal);
        return Future.succeededFuture(ex.page(403, "Access denied", "This proxy does not connect to " + target
            + ": the address it names is not one it may reach (" + refusal + ").", true));
      }
      return then.apply(SocketAddress.inetSocketAddress(new InetSocketAddress(ar.result(), target.port())));
    });
  }
}
