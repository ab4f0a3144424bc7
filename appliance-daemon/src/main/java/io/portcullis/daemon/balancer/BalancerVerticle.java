package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.BalancerConfig.Mode;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The balancer on one event loop: a listener per frontend; {@code tcp} frontends splice each client connection to a
 * server byte for byte ({@link Splice}), {@code http} frontends relay each request to a server ({@link HttpRelay}:
 * keep-alive both sides, pooled server connections, bodies streamed, CONNECT tunnels). A server that cannot be reached is retried on another one. Settings are read per connection or
 * request, so a commit applies at once; listeners are bound, kept or drained as frontends come and go.
 */
public final class BalancerVerticle extends ServiceVerticle<Balancer> {
  private static final Logger LOG = LoggerFactory.getLogger(BalancerVerticle.class);

  /** A listener and the mode it was bound for. */
  private record Bound(Mode mode, Listener listener) {
  }

  /** The client settings a frontend's pooled connections depend on. */
  private record ClientKey(Duration connectTimeout, Duration idleTimeout, int poolSize) {
    static ClientKey of(BalancerConfig.Frontend f) {
      return new ClientKey(f.connectTimeout(), f.idleTimeout(), f.maxConnectionsPerServer());
    }
  }

  private final Map<HostPort, Bound> bound = new HashMap<>();
  private final Map<ClientKey, NetClient> netClients = new HashMap<>();

  public BalancerVerticle(Balancer initial) {
    super(initial);
  }

  @Override
  protected HostPort address(Balancer b) {
    List<BalancerConfig.Frontend> f = b.config().frontends();
    return f.isEmpty() ? null : f.get(0).listen(); // the first; each frontend binds its own (bindMissing)
  }

  @Override
  public String where(Balancer b) {
    List<BalancerConfig.Frontend> f = b.config().frontends();
    return f.isEmpty() ? null : String.join(", ", f.stream().map(x -> x.listen().toString()).toList());
  }

  @Override
  protected Future<Listener> bind(HostPort address, Balancer b) {
    Frontend f = b.frontend(address);
    return f.config().mode() == Mode.TCP ? bindTcp(f.config()) : bindHttp(f.config());
  }

  @Override
  public Future<?> start() {
    Balancer b = settings();
    return bindMissing(b).map(fresh -> {
      bound.putAll(fresh);
      b.start();
      sweepPools();
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    List<Future<Void>> closing = new ArrayList<>();
    bound.values().forEach(x -> closing.add(x.listener().shutdown(grace())));
    bound.clear();
    settings().stop();
    vertx.cancelTimer(sweeper);
    return Future.join(closing).eventually(() -> {
      pools.values().forEach(Pool::close);
      netClients.values().forEach(NetClient::close);
      return Future.succeededFuture();
    });
  }

  @Override
  public Future<Prepared> prepare(Balancer next) {
    Promise<Prepared> promise = Promise.promise();
    context.runOnContext(v -> {
      for (BalancerConfig.Frontend f : next.config().frontends()) {
        Bound b = bound.get(f.listen());
        if (b != null && b.mode() != f.mode()) {
          promise.fail(new IllegalStateException("frontend " + f.name() + ": " + f.listen() + " serves "
              + b.mode().name().toLowerCase() + " now; to change its mode, give it another listen address (or "
              + "restart the daemon)"));
          return;
        }
      }
      bindMissing(next).onComplete(ar -> {
        if (ar.failed()) {
          promise.fail(ar.cause());
          return;
        }
        Map<HostPort, Bound> fresh = ar.result();
        promise.complete(new Prepared() {
          public void activate() {
            Balancer old = settings();
            settings(next);
            next.start();
            old.stop();
            context.runOnContext(x -> {
              poolOf.clear(); // the new commit's server objects find their pools afresh
              bound.putAll(fresh);
              for (HostPort listen : List.copyOf(bound.keySet())) {
                if (next.frontend(listen) == null) {
                  bound.remove(listen).listener().shutdown(grace()); // removed frontend: its connections drain
                }
              }
            });
          }

          public void abort() {
            fresh.values().forEach(x -> x.listener().shutdown(Duration.ZERO));
          }
        });
      });
    });
    return promise.future();
  }

  /** Binds the frontends of {@code b} not bound yet; on a failure unbinds those it bound and fails. */
  private Future<Map<HostPort, Bound>> bindMissing(Balancer b) {
    Map<HostPort, Bound> fresh = new HashMap<>();
    List<Future<Listener>> all = new ArrayList<>();
    for (Frontend f : b.frontends()) {
      HostPort listen = f.config().listen();
      if (bound.containsKey(listen)) {
        continue;
      }
      Future<Listener> l = bind(listen, b).onSuccess(x -> fresh.put(listen, new Bound(f.config().mode(), x)))
          .recover(e -> Future.failedFuture(new IllegalStateException("frontend " + f.name() + " cannot listen on "
              + listen + ": " + e.getMessage(), e)));
      all.add(l);
    }
    return Future.join(all).transform(ar -> {
      if (ar.failed()) {
        fresh.values().forEach(x -> x.listener().shutdown(Duration.ZERO));
        Throwable cause = all.stream().filter(Future::failed).findFirst().map(Future::cause).orElse(ar.cause());
        return Future.failedFuture(cause);
      }
      return Future.succeededFuture(fresh);
    });
  }

  // ---- tcp ----

  private Future<Listener> bindTcp(BalancerConfig.Frontend f) {
    HostPort listen = f.listen();
    return vertx.createNetServer(new NetServerOptions().setHost(listen.host()).setPort(listen.port())
            .setTcpNoDelay(true)) // idle: the splice's own (Splice), not Netty's per-write idle handler
        .connectHandler(sock -> onTcp(listen, sock))
        .listen()
        .map(Listener::of);
  }

  private void onTcp(HostPort listen, NetSocket client) {
    Frontend f = settings().frontend(listen);
    if (f != null && !f.allows(client.remoteAddress())) {
      refuse(f, client.remoteAddress());
      client.close();
      return;
    }
    if (f == null || !admit(f)) {
      client.close();
      return;
    }
    Splice.hold(client);
    boolean[] gone = {false};
    client.closeHandler(v -> gone[0] = true);
    int hash = Frontend.clientHash(client.remoteAddress() == null ? null : client.remoteAddress().hostAddress());
    connectTcp(f, client, gone, hash, null, 0);
  }

  /** Counts and logs (at debug: a scan must not flood the log) a client outside the frontend's allowedClients. */
  private void refuse(Frontend f, SocketAddress client) {
    settings().refused(f, "allowedClients");
    LOG.debug("balancer {}: refused {}: not in its allowedClients", f.name(), client);
  }

  /** Counts a client connection in; false (and not counted) when the frontend has its maxConnections. */
  private boolean admit(Frontend f) {
    if (f.clients().incrementAndGet() > f.config().maxConnections()) {
      f.clients().decrementAndGet();
      settings().refused(f, "maxConnections");
      LOG.warn("balancer {}: {} client connections, its maxConnections: refused one", f.name(),
          f.config().maxConnections());
      return false;
    }
    return true;
  }

  private void connectTcp(Frontend f, NetSocket client, boolean[] gone, int hash, Set<Server> tried, int attempt) {
    Server s = f.open(hash, tried);
    if (s == null) {
      LOG.warn("balancer {}: no server available{}; closed a client connection", f.name(),
          tried == null ? "" : " (" + tried.size() + " failed)");
      f.clients().decrementAndGet();
      client.close();
      return;
    }
    netClient(f.config()).connect(s.address().port(), s.address().host()).onComplete(ar -> {
      if (ar.failed()) {
        s.stats().closed();
        s.stats().failed();
        LOG.debug("balancer {}: server {} refused a connection: {}", f.name(), s.name(), ar.cause().toString());
        if (attempt < f.config().retries() && !gone[0]) {
          Set<Server> t = tried == null ? new HashSet<>() : tried;
          t.add(s);
          connectTcp(f, client, gone, hash, t, attempt + 1);
        } else {
          f.clients().decrementAndGet();
          client.close();
        }
        return;
      }
      NetSocket up = ar.result();
      if (gone[0]) {
        up.close();
        s.stats().closed();
        f.clients().decrementAndGet();
        return;
      }
      boolean[] finished = {false};
      Runnable finish = () -> {
        if (!finished[0]) {
          finished[0] = true;
          s.stats().closed();
          f.clients().decrementAndGet();
        }
      };
      client.closeHandler(v -> finish.run());
      up.closeHandler(v -> finish.run());
      if (f.config().sendProxy() != BalancerConfig.SendProxy.NONE) { // written before the splice's first byte
        up.write(Buffer.buffer(ProxyHeader.encode(f.config().sendProxy(), client.remoteAddress(),
            client.localAddress())));
      }
      Splice.join(client, up, f.config().idleTimeout());
    });
  }

  private NetClient netClient(BalancerConfig.Frontend f) {
    return netClients.computeIfAbsent(ClientKey.of(f), k -> vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) k.connectTimeout().toMillis()).setTcpNoDelay(true)));
  }

  // ---- http ----

  private Future<Listener> bindHttp(BalancerConfig.Frontend f) {
    HostPort listen = f.listen();
    return vertx.createNetServer(new NetServerOptions().setHost(listen.host()).setPort(listen.port())
            .setTcpNoDelay(true)) // timeouts: the relay's own (HttpRelay)
        .connectHandler(sock -> {
          Frontend now = settings().frontend(listen);
          if (now == null || !admit(now)) {
            sock.close();
            return;
          }
          sock.closeHandler(v -> now.clients().decrementAndGet());
          HttpRelay.serve(relayEnv, listen, sock, now);
        })
        .listen()
        .map(Listener::of);
  }

  /** What the http relays of this event loop share: settings, the node's name, the pools to the servers. */
  private final HttpRelay.Env relayEnv = new HttpRelay.Env() {
    public Frontend frontend(HostPort listen) {
      return settings().frontend(listen);
    }

    public String node() {
      return settings().node();
    }

    public void refused(Frontend f, SocketAddress client) {
      BalancerVerticle.this.refuse(f, client);
    }

    public Pool pool(Server s, BalancerConfig.Frontend f) {
      Pool p = poolOf.get(s);
      if (p == null) {
        NetClient client = netClient(f);
        p = pools.computeIfAbsent(new PoolKey(s.address(), ClientKey.of(f)), k -> new Pool(
            a -> client.connect(a.port(), a.host()), k.address(), f.maxConnectionsPerServer(), f.idleTimeout(),
            f.connectTimeout()));
        poolOf.put(s, p);
      }
      return p;
    }
  };

  /** The pools of this event loop's connections to one server address, by the settings they were opened with. */
  private record PoolKey(HostPort address, ClientKey client) {
  }

  private final Map<PoolKey, Pool> pools = new HashMap<>();
  // The pool of each server object of the current commit: one identity lookup per request (cleared by a commit).
  private final Map<Server, Pool> poolOf = new java.util.IdentityHashMap<>();
  private long sweeper = -1;

  /** Every half second: pooled connections idle too long close, requests waiting too long for one fail. */
  private void sweepPools() {
    sweeper = vertx.setPeriodic(500, id -> {
      long now = System.nanoTime();
      pools.values().forEach(p -> p.sweep(now));
    });
  }
}
