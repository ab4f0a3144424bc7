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
import io.netty.channel.Channel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.time.Instant;
import java.util.Locale;

/**
 * The last step of a CONNECT: a TCP connection to the target, a 200, then the client's first flight is read (the
 * peek) before any byte goes through: a ClientHello is judged by rules.tls on its server name and on the CONNECT
 * host (no match: proxy.tls.inspect says), what is not TLS by proxy.tls.onNonTls. Then the tunnel is refused,
 * joined to the origin (bytes both ways, counted for the access log), or inspected ({@link Bump}). A TLS rule that
 * blocks the CONNECT host itself answers 403 before any connection. The tunnel lives until either side closes or
 * idles out; proxy.requestTimeout does not cut it.
 */
record Tunnel(Vertx vertx, NetClient tunnels) implements ExchangeStep {
  private static final String GUARD = "portcullisGuard";

  @Override
  public Future<Answer> request(Exchange ex) {
    Target target = ex.target();
    Policy.TlsVerdict early = verdict(ex, target.origin().host());
    if (early != null && early.action() == TlsRule.Action.BLOCK) {
      decide(ex, "block", "tls", early.rule());
      ex.record().tls = "block";
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
      begin(ex, upstream, byHost);
      return Future.succeededFuture(Answer.NONE);
    });
  }

  /**
   * Answers 200 and starts the peek: the connection stays the proxy's HTTP/1 connection, with a {@link TunnelHandler}
   * in front that reads the client's first flight until the tunnel's fate is decided.
   */
  private static void begin(Exchange ex, NetSocket upstream, Policy.TlsVerdict byHost) {
    DefaultExchange de = (DefaultExchange) ex;
    Channel ch = DefaultExchange.channel(ex.request());
    de.tunnelled();
    ex.record().code = "TCP_TUNNEL";
    ex.record().peer = ex.target().origin().host();
    ex.record().tunnelled = 0;
    TlsConfig t = ex.settings().proxy().tls();
    ClientHelloReader reader = new ClientHelloReader(t.maxHelloBytes());
    TunnelHandler[] tunnel = new TunnelHandler[1];
    tunnel[0] = new TunnelHandler(reader, t.helloTimeout().toMillis(),
        r -> judge(ex, ch, tunnel[0], upstream, reader, r, byHost));
    ch.closeFuture().addListener(f -> {
      upstream.close();
      ex.record().tunnelled = tunnel[0].toClient();
      de.finished();
    });
    // In front of the guard, before the 200 leaves: the first byte the client sends after it is the peek's.
    ch.pipeline().addBefore(GUARD, TunnelHandler.NAME, tunnel[0]);
    HttpServerResponse r = ex.request().response();
    r.setStatusCode(200).setStatusMessage("Connection established");
    // RFC 9110 9.3.6: no Content-Length in a 2xx to CONNECT (the server adds one to every answer it ends).
    r.headersEndHandler(v -> r.headers().remove(HttpHeaders.CONTENT_LENGTH));
    ex.request().resume();
    r.end();
  }

  /**
   * Tunnels, inspects or refuses by what the peek read: {@code r}, or null when the client sent no whole hello in
   * time; {@code byHost} is what the CONNECT host matched (judged before the connection, never a block here).
   */
  private static void judge(Exchange ex, Channel ch, TunnelHandler tunnel, NetSocket upstream,
      ClientHelloReader reader, ClientHelloReader.Result r, Policy.TlsVerdict byHost) {
    if (!ch.isActive()) {
      upstream.close();
      return;
    }
    TlsConfig t = ex.settings().proxy().tls();
    if (r instanceof ClientHelloReader.Hello h) {
      ClientHello hello = h.hello();
      ex.record().sni = hello.sni();
      if (hello.ech() && t.onEch() == TlsConfig.OnEch.BLOCK) {
        refuse(ex, ch, upstream, "proxy", "proxy.tls.onEch");
        return;
      }
      String connectHost = ex.target().origin().host();
      // The name the origin will serve must pass the rules too: no fronting a blocked name behind an allowed host.
      Policy.TlsVerdict bySni = hello.sni() == null || hello.sni().equals(connectHost.toLowerCase(Locale.ROOT))
          ? null : verdict(ex, hello.sni());
      if (bySni != null && bySni.action() == TlsRule.Action.BLOCK) {
        refuse(ex, ch, upstream, "tls", bySni.rule());
        return;
      }
      Policy.TlsVerdict decided = bySni != null ? bySni : byHost;
      TlsRule.Action action = decided != null ? decided.action()
          : t.inspect() ? TlsRule.Action.INSPECT : TlsRule.Action.TUNNEL;
      if (decided != null) {
        decide(ex, action == TlsRule.Action.INSPECT ? "inspect" : "allow", "tls", decided.rule());
      }
      // An ECH hello inspected: this proxy offers no ECH, so a client with a real ECH config retries without it
      // (RFC 9849's rejection path) and the real name comes in the clear; a decoy (GREASE) ECH changes nothing.
      if (action == TlsRule.Action.INSPECT && ex.settings().interception() != null) {
        ex.record().tls = "inspect";
        ex.record().code = "NONE_NONE"; // as Squid logs a bumped CONNECT; its requests get lines of their own
        ex.settings().interception().counters().inspected.increment();
        Bump.start(ex, ch, tunnel, upstream, hello.sni());
        return;
      }
      tunnel(ex, tunnel, upstream);
      return;
    }
    // A hello begun (a handshake record's first byte) but not whole in time is a bad hello, not another protocol:
    // onNonTls: tunnel must not let a slow hello past the TLS rules.
    boolean begunHello = r == null && reader.seenLength() > 0 && reader.bytesSeen().get(0) == 22;
    if (r instanceof ClientHelloReader.Malformed || r instanceof ClientHelloReader.TooLarge || begunHello) {
      refuse(ex, ch, upstream, "proxy", "proxy.tls: a ClientHello that cannot be read");
      return;
    }
    // Not TLS, or nothing whole in time (a protocol whose server speaks first, say): as proxy.tls.onNonTls says.
    if (t.onNonTls() == TlsConfig.NonTls.BLOCK) {
      refuse(ex, ch, upstream, "proxy", "proxy.tls.onNonTls");
      return;
    }
    tunnel(ex, tunnel, upstream);
  }

  private static void tunnel(Exchange ex, TunnelHandler tunnel, NetSocket upstream) {
    ex.record().tls = "tunnel";
    if (ex.settings().interception() != null) {
      ex.settings().interception().counters().tunnelled.increment();
    }
    tunnel.splice(upstream);
  }

  /** The tunnel is refused after its 200: both connections close, nothing having reached the origin. */
  private static void refuse(Exchange ex, Channel ch, NetSocket upstream, String ruleType, String rule) {
    decide(ex, "block", ruleType, rule);
    ex.record().tls = "block";
    ex.record().code = "TCP_DENIED";
    if (ex.settings().interception() != null) {
      ex.settings().interception().counters().blocked.increment();
    }
    upstream.close();
    ch.close();
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
}
