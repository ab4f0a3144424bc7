package io.portcullis.daemon.proxy;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerOptions;

/**
 * The forward proxy's listener. Forwarding and the ICAP client are not built yet (their own issue): until then every
 * request gets an honest 503 that says so, rather than a connection that hangs or a silent reset.
 */
public final class ProxyVerticle extends ServiceVerticle<ProxyConfig> {

  public ProxyVerticle(ProxyConfig initial) {
    super(initial);
  }

  @Override
  protected HostPort address(ProxyConfig settings) {
    return settings.listen();
  }

  @Override
  protected Future<Listener> bind(HostPort address) {
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port()))
        .requestHandler(req -> req.response()
            .setStatusCode(503)
            .putHeader("Content-Type", "text/plain; charset=utf-8")
            .putHeader("Connection", "close")
            .end("Portcullis: request forwarding is not available in this build.\n"))
        .listen()
        .map(Listener::of);
  }
}
