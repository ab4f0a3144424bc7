package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServerOptions;

/**
 * The ICAP server's listener. The codec and services are not built yet (their own issue): until then each connection
 * gets {@code ICAP/1.0 503} (so ICAP clients such as Squid bypass or fail as they are configured to) and is closed.
 */
public final class IcapVerticle extends ServiceVerticle<IcapConfig> {
  private static final Buffer UNAVAILABLE = Buffer.buffer(
      "ICAP/1.0 503 Service Unavailable\r\nServer: Portcullis\r\nConnection: close\r\n"
          + "Encapsulated: null-body=0\r\n\r\n");

  public IcapVerticle(IcapConfig initial) {
    super(initial);
  }

  @Override
  protected HostPort address(IcapConfig settings) {
    return settings.listen();
  }

  @Override
  protected Future<Listener> bind(HostPort address) {
    return vertx.createNetServer(new NetServerOptions().setHost(address.host()).setPort(address.port()))
        .connectHandler(socket -> socket.write(UNAVAILABLE).onComplete(x -> socket.close()))
        .listen()
        .map(Listener::of);
  }
}
