package io.portcullis.daemon.icap.server;

import io.micrometer.core.instrument.MeterRegistry;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ICAP server (RFC 3507) on {@code icap.listen}: services {@code /av/reqmod} and {@code /av/respmod} (and
 * {@code /reqmod}, {@code /respmod}). Each connection is an {@link IcapConnection}; settings are read per message, so
 * a commit applies to the next message on every open connection.
 */
public final class IcapVerticle extends ServiceVerticle<IcapSettings> {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(IcapVerticle.class);
  private final IcapMetrics metrics;
  private final AtomicInteger connections;
  private final ScanBuffers buffers;

  /**
   * What the instances of the ICAP server share: the connection count (for icap.maxConnections), the bytes held to
   * scan (for icap.maxBufferedBytes) and metrics.
   */
  public static final class Shared {
    final IcapMetrics metrics;
    final AtomicInteger connections = new AtomicInteger();
    final ScanBuffers buffers = new ScanBuffers();

    public Shared(MeterRegistry registry) {
      this.metrics = new IcapMetrics(registry, buffers);
    }
  }

  public IcapVerticle(IcapSettings initial, Shared shared) {
    super(initial);
    this.metrics = shared.metrics;
    this.connections = shared.connections;
    this.buffers = shared.buffers;
  }

  @Override
  protected HostPort address(IcapSettings settings) {
    return settings.icap().listen();
  }

  @Override
  protected Future<Listener> bind(HostPort address, IcapSettings s) {
    NetServerOptions options = new NetServerOptions().setHost(address.host()).setPort(address.port())
        .setTcpNoDelay(true).setReuseAddress(true)
        .setIdleTimeout((int) s.icap().idleTimeout().toSeconds()).setIdleTimeoutUnit(TimeUnit.SECONDS);
    return vertx.createNetServer(options).connectHandler(this::accept).listen().map(Listener::of);
  }

  private void accept(NetSocket socket) {
    IcapSettings s = settings();
    io.vertx.core.net.SocketAddress from = socket.remoteAddress();
    if (from == null || !io.portcullis.daemon.rules.CidrMatcher.anyMatches(s.allowedClients(),
        io.portcullis.daemon.rules.CidrMatcher.literal(from.hostAddress()))) {
      metrics.denied();
      LOG.debug("icap connection from {} closed: not in icap.allowedClients", from);
      socket.close();
      return;
    }
    if (connections.incrementAndGet() > s.icap().maxConnections()) {
      connections.decrementAndGet();
      metrics.refused();
      socket.write(Buffer.buffer("ICAP/1.0 503 Service Unavailable\r\nISTag: " + s.istag()
          + "\r\nConnection: close\r\nEncapsulated: null-body=0\r\n\r\n")).onComplete(x -> socket.close());
      return;
    }
    new IcapConnection(socket, this::settings, metrics, buffers, connections::decrementAndGet, context).start();
  }

  /** Connections open now. */
  public int connections() {
    return connections.get();
  }
}
