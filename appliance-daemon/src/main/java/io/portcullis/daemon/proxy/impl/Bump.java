package io.portcullis.daemon.proxy.impl;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.proxy.BasicAuth;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.RequestGuard;
import io.portcullis.daemon.tls.Interception;
import io.portcullis.daemon.tls.LeafCertificates;
import io.portcullis.daemon.tls.OriginTrust;
import io.vertx.core.Future;
import io.vertx.core.net.ClientSSLOptions;
import io.vertx.core.net.NetSocket;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decrypts a tunnel the TLS rules (or proxy.tls.inspect) chose to inspect: the origin's certificate is looked at
 * first (unless seen lately) and checked, a certificate for the host is minted from it (or from the server name when
 * the origin is not trusted, so that the user can read the error page), and the user's TLS ends here. The requests
 * inside then reach the proxy's HTTP/1 server on this very connection, marked {@link #INSPECTED}, and walk the
 * exchange pipeline as https URLs.
 */
final class Bump {
  private static final Logger LOG = LoggerFactory.getLogger(Bump.class);
  /** What the requests decrypted on a connection came through: set once its TLS is ours. */
  static final AttributeKey<Inspected> INSPECTED = AttributeKey.valueOf("portcullis.inspected");
  static final String TLS_HANDLER = "portcullisTls";
  /** Only to read the certificate: the check is {@link OriginTrust}'s, on the chain this returns. */
  private static final ClientSSLOptions LOOK = new ClientSSLOptions().setTrustAll(true)
      .setHostnameVerificationAlgorithm("").setEnabledSecureTransportProtocols(Set.of(Interception.PROTOCOLS));

  /**
   * An inspected tunnel: where it goes ({@code origin}, the name asked for in {@code host}), who opened it, and why
   * its origin is not trusted ({@code refusal}; null: trusted as far as known).
   */
  record Inspected(HostPort origin, String host, BasicAuth.User user, String sni, String refusal) {
  }

  private Bump() {
  }

  /**
   * Ends the user's TLS of {@code ex}'s tunnel on {@code ch} ({@code tunnel} holds what was read) with a certificate
   * for {@code sni} (null: none was sent); {@code upstream} is the TCP connection opened to the origin.
   */
  static void start(Exchange ex, Channel ch, TunnelHandler tunnel, NetSocket upstream, String sni) {
    Interception in = ex.settings().interception();
    HostPort origin = ex.target().origin();
    String host = sni != null ? sni : origin.host();
    String key = host + ":" + origin.port();
    X509Certificate known = in.originCertificate(key);
    Future<X509Certificate[]> looked;
    if (known != null) {
      upstream.close();
      looked = Future.succeededFuture(new X509Certificate[] {known});
    } else {
      upstream.resume(); // paused for the peek: the origin's handshake must be read
      looked = upstream.upgradeToSsl(LOOK, sni).map(v -> {
        try {
          return upstream.peerCertificates().stream().map(c -> (X509Certificate) c)
              .toArray(X509Certificate[]::new);
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
          throw new IllegalStateException("the origin showed no certificate", e);
        }
      }).andThen(ar -> upstream.close());
    }
    looked.onComplete(ar -> {
      if (!tunnel.holding()) {
        return; // the user went away meanwhile
      }
      X509Certificate[] chain = ar.succeeded() ? ar.result() : null;
      String refusal = null;
      if (chain == null) {
        refusal = "no TLS connection could be made to it (" + ar.cause().getMessage() + ")";
      } else if (known == null) {
        try {
          in.trust().check(chain, host);
          in.originSeen(key, chain[0]);
        } catch (OriginTrust.Untrusted u) {
          in.counters().untrusted(u.reason());
          refusal = "its certificate is not trusted: " + u.getMessage();
        }
      }
      LeafCertificates.Leaf leaf;
      try {
        // An origin not trusted: the host's own name, so that the user's browser shows our page, not its own error.
        leaf = in.leaves().leafFor(host, refusal == null ? chain[0] : null);
      } catch (RuntimeException e) {
        LOG.error("no certificate could be made for {}: closed the tunnel", host, e);
        ch.close();
        return;
      }
      SslHandler tls = in.handler(ch.alloc(), leaf);
      SSLEngine engine = tls.engine();
      tls.setHandshakeTimeoutMillis(ex.settings().proxy().tls().helloTimeout().toMillis());
      tls.handshakeFuture().addListener(f -> {
        in.done(engine);
        (f.isSuccess() ? in.counters().handshakes : in.counters().handshakeFailures).increment();
        if (!f.isSuccess()) {
          LOG.debug("the TLS handshake of {} for {} failed: {}", ex.record().client, host, f.cause().toString());
        }
      });
      ch.closeFuture().addListener(f -> in.done(engine));
      ch.attr(INSPECTED).set(new Inspected(origin, host, ex.record().user, sni, refusal));
      RequestGuard.restart(ch); // the requests inside are framed and bounded as any other
      tunnel.pass(TLS_HANDLER, tls);
    });
  }
}
