package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.TlsConfig;
import io.portcullis.daemon.config.TlsRule;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.tls.ClientHello;
import io.portcullis.daemon.tls.ClientHelloReader;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Locale;

/**
 * The last step of a CONNECT: a TCP connection to the target, then the user's connection becomes a tunnel to it,
 * bytes both ways with back-pressure, counted for the access log. Before any byte goes through, the client's first
 * flight is read (the peek): a ClientHello is judged by rules.tls on its server name and on the CONNECT host, and
 * what is not TLS by proxy.tls.onNonTls; only then are the bytes read replayed to the origin. A TLS rule that blocks
 * the CONNECT host itself answers 403 before any connection. The tunnel lives until either side closes or idles
 * out; proxy.requestTimeout does not cut it.
 */
record Tunnel(Vertx vertx, NetClient tunnels) implements ExchangeStep {
  @Override
  public Future<Answer> request(Exchange ex) {
    Target target = ex.target();
    Policy.TlsVerdict early = verdict(ex, target.origin().host());
    if (early != null && early.action() == TlsRule.Action.BLOCK) {
      decide(ex, "block", "tls", early.rule());
      return Future.succeededFuture(ex.page(403, "Access denied", "Tunnels to " + target.origin().host()
          + " are blocked by the rule " + early.rule() + ".", true));
    }
    return Destination.resolve(vertx, ex, target.origin(), address -> open(ex, address, early));
  }

  /** Connects to the origin at {@code address}; {@code byHost}: the TLS rule the CONNECT host matched, or null. */
  private Future<Answer> open(Exchange ex, SocketAddress address, Policy.TlsVerdict byHost) {
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
      upstream.pause(); // nothing from the origin reaches the user before the peek has decided
      return ex.request().toNetSocket().transform(sock -> {
        if (sock.failed()) {
          upstream.close();
          return Future.succeededFuture(Answer.NONE);
        }
        peek(ex, sock.result(), upstream, byHost);
        return Future.succeededFuture(Answer.NONE);
      });
    });
  }

  /** Reads the client's first flight until the ClientHello is whole, it is not TLS, or proxy.tls.helloTimeout. */
  private void peek(Exchange ex, NetSocket client, NetSocket upstream, Policy.TlsVerdict byHost) {
    DefaultExchange de = (DefaultExchange) ex;
    de.tunnelled();
    ex.record().code = "TCP_TUNNEL";
    ex.record().peer = ex.target().origin().host();
    ex.record().tunnelled = 0;
    TlsConfig t = ex.settings().proxy().tls();
    ClientHelloReader reader = new ClientHelloReader(t.maxHelloBytes());
    boolean[] decided = {false};
    long timer = vertx.setTimer(t.helloTimeout().toMillis(), id -> {
      if (!decided[0]) {
        decided[0] = true;
        client.pause();
        judge(ex, client, upstream, reader, null, byHost);
      }
    });
    client.closeHandler(v -> {
      vertx.cancelTimer(timer);
      upstream.close();
      de.finished();
    });
    upstream.exceptionHandler(e -> client.close());
    client.handler(b -> {
      if (decided[0]) {
        return;
      }
      ClientHelloReader.Result r = reader.feed(b.getBytes());
      if (!(r instanceof ClientHelloReader.NeedMore)) {
        decided[0] = true;
        vertx.cancelTimer(timer);
        client.pause();
        judge(ex, client, upstream, reader, r, byHost);
      }
    });
  }

  /**
   * Tunnels or refuses by what the peek read: {@code r}, or null when the client sent no whole hello in time;
   * {@code byHost} is what the CONNECT host matched (judged before the connection, never a block here).
   */
  private static void judge(Exchange ex, NetSocket client, NetSocket upstream, ClientHelloReader reader,
      ClientHelloReader.Result r, Policy.TlsVerdict byHost) {
    TlsConfig t = ex.settings().proxy().tls();
    if (r instanceof ClientHelloReader.Hello h) {
      ClientHello hello = h.hello();
      if (hello.ech() && t.onEch() == TlsConfig.OnEch.BLOCK) {
        refuse(ex, client, upstream, "proxy", "proxy.tls.onEch");
        return;
      }
      String connectHost = ex.target().origin().host();
      // The name the origin will serve must pass the rules too: no fronting a blocked name behind an allowed host.
      Policy.TlsVerdict bySni = hello.sni() == null || hello.sni().equals(connectHost.toLowerCase(Locale.ROOT))
          ? null : verdict(ex, hello.sni());
      if (bySni != null && bySni.action() == TlsRule.Action.BLOCK) {
        refuse(ex, client, upstream, "tls", bySni.rule());
        return;
      }
      Policy.TlsVerdict decided = bySni != null ? bySni : byHost;
      if (decided != null) {
        decide(ex, "allow", "tls", decided.rule());
      }
      relay(ex, client, upstream, reader.bytesSeen());
      return;
    }
    if (r instanceof ClientHelloReader.Malformed || r instanceof ClientHelloReader.TooLarge) {
      refuse(ex, client, upstream, "proxy", "proxy.tls: a ClientHello that cannot be read");
      return;
    }
    // Not TLS, or nothing whole in time (a protocol whose server speaks first, say): as proxy.tls.onNonTls says.
    if (t.onNonTls() == TlsConfig.NonTls.BLOCK) {
      refuse(ex, client, upstream, "proxy", "proxy.tls.onNonTls");
      return;
    }
    relay(ex, client, upstream, reader.bytesSeen());
  }

  /** The tunnel is refused after its 200: both connections close, nothing having reached the origin. */
  private static void refuse(Exchange ex, NetSocket client, NetSocket upstream, String ruleType, String rule) {
    decide(ex, "block", ruleType, rule);
    ex.record().code = "TCP_DENIED";
    upstream.close();
    client.close();
  }

  /** The first TLS rule that matches a CONNECT to {@code host} by this user, or null. */
  private static Policy.TlsVerdict verdict(Exchange ex, String host) {
    Policy policy = ex.settings().policy();
    if (policy == null || !policy.hasTlsRules()) {
      return null;
    }
    var user = ex.record().user;
    Facts f = new Facts("CONNECT", host + ":" + ex.target().origin().port(), ex.record().client,
        user == null ? null : user.name(), user == null ? null : user.groups(), null, Instant.now());
    return policy.tls(f);
  }

  private static void decide(Exchange ex, String action, String ruleType, String rule) {
    ex.record().action = action;
    ex.record().ruleType = ruleType;
    ex.record().rule = rule;
  }

  /** Replays the bytes the peek read to the origin, then joins the two connections. */
  private static void relay(Exchange ex, NetSocket client, NetSocket upstream, ByteBuffer seen) {
    if (seen.hasRemaining()) {
      byte[] first = new byte[seen.remaining()];
      seen.get(first);
      upstream.write(Buffer.buffer(first));
    }
    splice(ex, client, upstream);
    client.resume();
    upstream.resume();
  }

  /** Joins the user's connection to the origin's, counting the bytes the user gets. */
  private static void splice(Exchange ex, NetSocket client, NetSocket upstream) {
    client.handler(null);
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
