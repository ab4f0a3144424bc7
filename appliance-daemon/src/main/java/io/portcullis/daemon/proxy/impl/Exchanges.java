package io.portcullis.daemon.proxy.impl;

import io.netty.channel.Channel;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.icap.client.IcapClient;
import io.portcullis.daemon.icap.client.IcapConnectionPool;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.ProxySettings;
import io.portcullis.daemon.rules.CidrMatcher;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.List;

/**
 * Where the proxy's requests become exchanges: the pipeline of steps, one for plain requests, one for CONNECT and one
 * for the requests decrypted inside an inspected tunnel, and the clients they share on one event loop (origins,
 * tunnels, ICAP).
 */
public final class Exchanges {
  private final Vertx vertx;
  private final List<ExchangeStep> plain;
  private final List<ExchangeStep> connect;
  private final List<ExchangeStep> inspected;

  /** The pipelines for {@code s}'s limits (connect timeout, pool sizes), on {@code vertx}'s current context. */
  public Exchanges(Vertx vertx, ProxyConfig s) {
    this.vertx = vertx;
    IcapClient icap = new IcapClient(vertx, new IcapConnectionPool(vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) s.connectTimeout().toMillis()).setTcpNoDelay(true)), s.icap().maxConnections()),
        s.icap().timeout());
    HttpClientAgent client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
            .setConnectTimeout((int) s.connectTimeout().toMillis()).setDecompressionSupported(false)
            .setMaxInitialLineLength(65536).setMaxHeaderSize(65536)
            // The TLS of inspected requests to their origins: BoringSSL where it loads (less CPU than the JDK's).
            .setSslEngineOptions(io.vertx.core.net.OpenSSLEngineOptions.isAvailable()
                ? new io.vertx.core.net.OpenSSLEngineOptions() : null),
        new PoolOptions().setHttp1MaxSize(s.maxConnectionsPerOrigin()).setMaxWaitQueueSize(s.maxWaitQueue()));
    NetClient tunnels = vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) s.connectTimeout().toMillis()).setTcpNoDelay(true));
    // The order is the request's path; answers walk it backwards, so RESPMOD sees only the origin's.
    List<ExchangeStep> head = List.of(new Admission(), new Authentication(vertx), new Targeting(),
        new RequestModification(icap));
    plain = concat(head.subList(0, 3), new CaPage(), head.get(3), new ResponseModification(vertx, icap),
        new Forward(vertx, client));
    connect = concat(head, new Tunnel(vertx, tunnels));
    inspected = List.of(head.get(0), new InsideTunnel(), head.get(3), plain.get(plain.size() - 2),
        plain.get(plain.size() - 1));
  }

  private static List<ExchangeStep> concat(List<ExchangeStep> head, ExchangeStep... tail) {
    return java.util.stream.Stream.concat(head.stream(), java.util.Arrays.stream(tail)).toList();
  }

  /** Serves {@code req} with {@code settings}, unless an earlier answer on its connection closes it. */
  public void handle(HttpServerRequest req, ProxySettings settings) {
    if (Pages.closing(req)) {
      return; // pipelined behind an error answer that closes: never served, the connection is going
    }
    boolean inside = DefaultExchange.channel(req).hasAttr(Bump.INSPECTED);
    DefaultExchange ex = new DefaultExchange(vertx, req, settings, clientAddress(req, settings),
        inside ? inspected : req.method() == HttpMethod.CONNECT ? connect : plain).begin();
    if (ex.admitted()) {
      ex.run();
    } else {
      ex.busy();
    }
  }

  /** A request the framing guard or the decoder refused: our page with {@code status} and the reason, then close. */
  public void refuse(HttpServerRequest req, ProxySettings settings, int status, String reason) {
    if (Pages.closing(req)) {
      return; // behind an error answer that closes: the connection is going
    }
    String title = switch (status) {
      case 408 -> "Request timeout";
      case 414 -> "URI too long";
      case 431 -> "Request header fields too large";
      case 505 -> "HTTP version not supported";
      default -> "Bad request";
    };
    new DefaultExchange(vertx, req, settings, clientAddress(req, settings), List.of()).begin()
        .refuse(status, title, "The request was refused: " + reason + ".");
  }

  /** The body of the request {@code ch} is reading broke its framing: that exchange stops, or the connection closes. */
  public static void bodyRefused(Channel ch, int status, String reason) {
    DefaultExchange ex = ch.attr(DefaultExchange.CURRENT).get();
    if (ex == null) {
      ch.close();
      return;
    }
    ex.bodyRefused(status, reason);
  }

  /**
   * Who sent {@code req}: the peer, or, when the peer is one of proxy.followXForwardedFor, the address its
   * X-Forwarded-For ends with, and so on leftwards while that address is a forwarder too (Squid's walk). An entry that
   * is not an IP address ends the walk at the last trusted hop's word.
   */
  public static String clientAddress(HttpServerRequest req, ProxySettings s) {
    String peer = req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
    if (s.followXForwardedFor().isEmpty() || peer == null || !CidrMatcher.anyMatches(s.followXForwardedFor(), CidrMatcher.literal(peer))) {
      return peer;
    }
    List<String> values = req.headers().getAll("X-Forwarded-For");
    String client = peer;
    for (int v = values.size() - 1; v >= 0; v--) {
      String[] hops = values.get(v).split(",");
      for (int i = hops.length - 1; i >= 0; i--) {
        String hop = hops[i].trim();
        byte[] address = CidrMatcher.literal(hop);
        if (address == null) {
          return client;
        }
        client = hop;
        if (!CidrMatcher.anyMatches(s.followXForwardedFor(), address)) {
          return client;
        }
      }
    }
    return client;
  }
}
