package io.portcullis.daemon;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.portcullis.daemon.admin.AdminToken;
import io.portcullis.daemon.admin.AdminVerticle;
import io.portcullis.daemon.admin.Callers;
import io.portcullis.daemon.balancer.BalancerVerticle;
import io.portcullis.daemon.balancer.Balancer;
import io.portcullis.daemon.balancer.BalancerStats;
import io.portcullis.daemon.cluster.Cluster;
import io.portcullis.daemon.config.CommitManager;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.EditSessions;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.config.RevisionStore;
import io.portcullis.daemon.events.Events;
import io.portcullis.daemon.icap.server.IcapSettings;
import io.portcullis.daemon.icap.server.IcapVerticle;
import io.portcullis.daemon.proxy.BasicAuth;
import io.portcullis.daemon.proxy.ProxySettings;
import io.portcullis.daemon.proxy.ProxyVerticle;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.scan.Scanner;
import io.portcullis.daemon.runtime.Service;
import io.portcullis.daemon.runtime.ServiceState;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.CheckResult;
import io.vertx.ext.healthchecks.HealthChecks;
import io.vertx.ext.healthchecks.Status;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Portcullis node: a Vert.x instance running the proxy, ICAP, balancer, admin and console services on one config,
 * which {@link CommitManager} changes through {@link #apply}. Start with {@link #start}, stop with {@link #stop}. The
 * admin API and the cluster see it through their own narrow interfaces, so no package depends back on this one.
 */
public final class Daemon implements CommitManager.Applier, Cluster.Host, AdminVerticle.Host {
  private static final Logger LOG = LoggerFactory.getLogger(Daemon.class);

  /** Where the node keeps its state; {@code configFile} (may be null) is rewritten on each commit. */
  public record Options(Path dataDir, Path configFile) {
  }

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final Events events;
  private final Callers callers;
  private final Service<io.portcullis.daemon.admin.AdminSettings> admin;
  private final List<Service<?>> traffic = new ArrayList<>();
  private final HealthChecks liveness;
  private final HealthChecks readiness;
  private final Instant startedAt = Instant.now();
  private final Path baseDir;
  private final io.portcullis.daemon.config.ConfigDirectory configDirectory; // null: embedded defaults, no directory
  private final io.portcullis.daemon.config.ConfigFiles files;
  private final Path dataDir;
  private Compiled compiled;
  private final io.portcullis.daemon.tls.TlsCounters tlsCounters = new io.portcullis.daemon.tls.TlsCounters();
  private final io.portcullis.daemon.tls.CaSource caSource;
  private final BalancerStats balancerStats;
  private final Service<Balancer> balancer;
  private final Service<ProxySettings> proxy;
  private volatile Config config;
  private volatile CommitManager commits;
  private volatile EditSessions sessions;
  private final Cluster cluster;
  private final NodeStatus nodeStatus;
  private final io.portcullis.daemon.runtime.HeapCompactor compactor = new io.portcullis.daemon.runtime.HeapCompactor();
  private boolean stopped;

  /** The policy and scanner of one config; compiled once per commit, shared by the services. */
  record Compiled(Config config, Policy policy, Scanner scanner, io.portcullis.daemon.tls.CaSource.Chosen tls) {
  }

  /** Compiles {@code c} (once: later calls for the same config reuse it); the scanner is reused while scan.* holds. */
  synchronized Compiled compile(Config c) throws Policy.PolicyException {
    if (compiled != null && compiled.config() == c && !caSource.rotationPending()) {
      return compiled;
    }
    Policy policy = Policy.compile(c.rules(), baseDir);
    Scanner scanner;
    if (compiled != null && compiled.config().scan().equals(c.scan())) {
      scanner = compiled.scanner();
    } else {
      try {
        scanner = Scanner.of(c.scan(), baseDir);
      } catch (IOException e) {
        throw new Policy.PolicyException("scan.hashLists: " + e.getMessage());
      }
    }
    io.portcullis.daemon.tls.CaSource.Chosen tls;
    try {
      tls = caSource.choose(c, compiled == null ? null : compiled.config(), compiled == null ? null : compiled.tls());
    } catch (io.portcullis.daemon.config.ConfigException e) {
      throw new Policy.PolicyException(e.getMessage());
    } catch (IOException e) {
      throw new Policy.PolicyException("proxy.tls.ca: " + e.getMessage());
    }
    compiled = new Compiled(c, policy, scanner, tls);
    return compiled;
  }

  /** {@link #compile} with its failure unchecked, for the services' settings functions, which cannot throw. */
  private Compiled compiled(Config c) {
    try {
      return compile(c);
    } catch (Policy.PolicyException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /** Builds the node's parts on {@code config}; nothing listens until {@link #start}. */
  private Daemon(Options options, Config config) throws IOException {
    this.config = config;
    this.baseDir = options.configFile() != null ? options.configFile().toAbsolutePath().getParent()
        : Path.of("").toAbsolutePath();
    this.files = io.portcullis.daemon.config.ConfigFiles.of(baseDir);
    this.configDirectory = options.configFile() == null ? null
        : new io.portcullis.daemon.config.ConfigDirectory(options.configFile());
    Files.createDirectories(options.dataDir());
    this.dataDir = options.dataDir();
    // A crash mid-write leaves temp files, which may hold a key or the config's secrets: gone before anything reads.
    if (options.configFile() != null) {
      io.portcullis.daemon.config.AtomicFiles.removeLeftovers(baseDir);
    }
    io.portcullis.daemon.config.AtomicFiles.removeLeftoversUnder(dataDir); // every directory the daemon writes is in it
    this.caSource = new io.portcullis.daemon.tls.CaSource(dataDir, baseDir, tlsCounters);
    AdminToken token = AdminToken.loadOrCreate(options.dataDir());
    this.callers = new Callers(token, user -> this.config().console().users().stream()
        .filter(u -> u.name().equals(user)).findFirst().map(u -> u.role()).orElse(null));
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.events = new Events(options.dataDir().resolve("events"), registry);
    events.configure(config.events(), baseDir, config.node().name());
    this.vertx = Vertx.builder()
        .with(new VertxOptions().setPreferNativeTransport(true)
            // Nothing here looks classes up through the thread's context loader, and setting it around every
            // dispatch is a visible share of the ICAP server's event-loop time for small messages.
            .setDisableTCCL(true).setEventLoopPoolSize(Math.max(2, (config.node().eventLoops() > 0
            ? config.node().eventLoops() : Runtime.getRuntime().availableProcessors()) + 1)).setMetricsOptions(
            // Vert.x's per-connection and per-request HTTP/TCP meters cost a registry lookup each (a large share of
            // the proxy's CPU for small objects) and label by remote address, which for a proxy is every origin on
            // the web: our own meters cover traffic instead.
            new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_SERVER)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.HTTP_CLIENT)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.NET_SERVER)
                .addDisabledMetricsCategory(io.vertx.micrometer.MetricsDomain.NET_CLIENT)))
        .withMetrics(new MicrometerMetricsFactory(registry))
        .build();
    LOG.info("network transport: {}", vertx.isNativeTransportEnabled() ? "epoll (native)"
        : "NIO (epoll unavailable: " + vertx.unavailableNativeTransportCause() + ")");
    int loops = config.node().eventLoops() > 0 ? config.node().eventLoops()
        : Runtime.getRuntime().availableProcessors();
    this.admin = new Service<>("admin", vertx, c -> io.portcullis.daemon.admin.AdminSettings.of(c, baseDir, dataDir),
        a -> true, a -> new AdminVerticle(a, this), 1);
    String node = config.node().name();
    // Counted across commits and event loops: the limits hold for the node, not per listener.
    io.portcullis.daemon.proxy.ClientConnections clients = new io.portcullis.daemon.proxy.ClientConnections();
    io.micrometer.core.instrument.FunctionCounter.builder("portcullis.proxy.connections.refused", clients,
        io.portcullis.daemon.proxy.ClientConnections::refused)
        .description("client connections refused for proxy.maxConnections or proxy.maxConnectionsPerClient")
        .register(registry);
    Gauge.builder("portcullis.proxy.connections", clients, io.portcullis.daemon.proxy.ClientConnections::open)
        .description("client connections open now").register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder("portcullis.proxy.requests.refused", clients,
        io.portcullis.daemon.proxy.ClientConnections::requestsRefused)
        .description("requests refused (503) for proxy.maxActiveRequests").register(registry);
    Gauge.builder("portcullis.proxy.requests.active", clients, io.portcullis.daemon.proxy.ClientConnections::requests)
        .description("requests in progress now (proxy.maxActiveRequests bounds them)").register(registry);
    tlsCounters.register(registry);
    io.portcullis.daemon.identity.LoginThrottle proxyLogins = new io.portcullis.daemon.identity.LoginThrottle();
    io.micrometer.core.instrument.FunctionCounter.builder("portcullis.proxy.auth.lockouts", proxyLogins,
        io.portcullis.daemon.identity.LoginThrottle::lockouts)
        .description("client addresses locked out after proxy.auth.lockout.maxFailures failed logins")
        .register(registry);
    traffic.add(proxy = new Service<ProxySettings>("proxy", vertx,
        c -> ProxySettings.of(c, baseDir, events, clients, proxyLogins, compiled(c).tls().interception(),
            compiled(c).policy()),
        p -> p.proxy().enabled(),
        ProxyVerticle::new, loops));
    IcapVerticle.Shared icapShared = new IcapVerticle.Shared(registry);
    traffic.add(new Service<IcapSettings>("icap", vertx, c -> IcapSettings.of(c, compiled(c).policy(),
        compiled(c).scanner(), events), s -> s.icap().enabled(), s -> new IcapVerticle(s, icapShared), loops));
    this.balancerStats = new BalancerStats(registry);
    traffic.add(balancer = new Service<Balancer>("balancer", vertx, c -> new Balancer(io.portcullis.daemon.cluster.Membership.balancer(c), c.node().name(),
        vertx, balancerStats), b -> b.config().enabled(), BalancerVerticle::new, loops));
    io.portcullis.daemon.console.LoginTokens sessionTokens = new io.portcullis.daemon.console.LoginTokens() {
      public String open(String user, io.portcullis.daemon.config.ConsoleConfig.ConsoleUser.Role role, String src) {
        return callers.open(user, role, src);
      }

      public void close(String t) {
        callers.close(t);
      }
    };
    io.portcullis.daemon.identity.LoginThrottle consoleLogins = new io.portcullis.daemon.identity.LoginThrottle();
    io.micrometer.core.instrument.FunctionCounter.builder("portcullis.console.lockouts", consoleLogins,
        io.portcullis.daemon.identity.LoginThrottle::lockouts)
        .description("addresses locked out of the SSH console after console.ssh.lockout.maxFailures failed logins")
        .register(registry);
    traffic.add(new Service<io.portcullis.daemon.console.ConsoleSettings>("console", vertx,
        c -> io.portcullis.daemon.console.ConsoleSettings.of(c,
            io.portcullis.daemon.admin.AdminSettings.certificateOf(c, baseDir, dataDir), sessionTokens, dataDir,
            consoleLogins),
        s -> s.config().ssh().enabled(), io.portcullis.daemon.console.ConsoleVerticle::new, 1));
    this.liveness = HealthChecks.create(vertx).register("daemon", p -> p.complete(Status.OK()));
    this.readiness = HealthChecks.create(vertx);
    for (Service<?> s : all()) {
      readiness.register(s.name(), p -> p.complete(Readiness.of(s.state())));
      Gauge.builder("portcullis_service_up", s, x -> x.state().healthy() ? 1 : 0)
          .description("1 when the service is disabled or working, 0 when it failed").tag("service", s.name())
          .register(registry);
    }
    readiness.register("config", p -> {
      CommitManager c = commits;
      p.complete(c == null ? Status.KO(new JsonObject().put("reason", "not started"))
          : Status.OK(new JsonObject().put("revision", c.active().revision())));
    });
    Readiness checks = new Readiness(vertx, () -> {
      ServiceVerticle<ProxySettings> v = proxy.verticle();
      return v == null ? null : v.settings();
    }, this::scanner);
    readiness.register("icap-client", 3000, checks::icapClient);
    this.cluster = new Cluster(this, dataDir);
    // Up even when the control node is away: the node keeps serving on its last config, and a balancer checking
    // /health/ready must not take it out for that; the data says how the link is.
    readiness.register("cluster", p -> {
      JsonObject c = cluster.status().copy();
      c.remove("nodes");
      p.complete(Status.OK(c));
    });
    readiness.register("scan", 3000, checks::scan);
    readiness.register("directory", 3000, checks::directory);
    this.nodeStatus = new NodeStatus(startedAt, all(), balancer, this::config, () -> commits, cluster, events);
    Gauge.builder("portcullis_config_revision", this, d -> d.commits == null ? 0 : d.commits.active().revision())
        .description("the config revision in effect").register(registry);
  }

  /**
   * Starts a node on {@code config} ({@code text} is its YAML, {@code source} says where it came from) and returns once
   * every service has started or failed. A traffic service that cannot listen is logged and reported unhealthy; an
   * admin API that cannot listen fails the start, since nothing could then fix the node.
   */
  public static Daemon start(Options options, String text, Config config, String source) throws Exception {
    Daemon d = new Daemon(options, config);
    try {
      d.compile(config);
      d.await(Future.join(d.traffic.stream().map(s -> s.start(config)).toList()).recover(e -> Future.succeededFuture()));
      d.commits = new CommitManager(new RevisionStore(options.dataDir().resolve("revisions")), d,
          options.configFile(), text, config, source);
      d.commits.files(d.files);
      d.sessions = new EditSessions(d.commits);
      d.commits.guard(d.cluster);
      d.commits.follower(d.cluster);
      d.commits.onActive(d.cluster::activated);
      d.commits.onActive((active, rev) -> d.compactor.request());
      d.await(d.admin.start(config));
      d.await(d.cluster.configure(config).recover(e -> {
        LOG.error("cluster: cannot start as {}: {}", config.cluster().role().name().toLowerCase(), e.toString());
        return Future.succeededFuture();
      }));
      d.writeNetwork(config);
      d.compactor.request();
    } catch (Exception e) {
      d.vertx.close();
      d.events.close();
      throw e;
    }
    return d;
  }

  /** The result of {@code f}, waited for up to a minute; its failure is thrown as it is. */
  private <T> T await(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }

  /** Every service, admin first. */
  private List<Service<?>> all() {
    List<Service<?>> list = new ArrayList<>(traffic);
    list.add(0, admin);
    return list;
  }

  @Override
  public synchronized io.portcullis.daemon.tls.InspectionCa inspectionCa() {
    return compiled == null ? null : compiled.tls().ca();
  }

  /**
   * Replaces the node's own inspection CA with a new one and puts it into effect (in the commit queue, re-applying the
   * config in effect): the proxy shows the new one from the next tunnel on. Refused when the CA is the admin's
   * (proxy.tls.ca) or, on a cluster's node, the control node's.
   */
  public CompletableFuture<io.portcullis.daemon.tls.InspectionCa> rotateInspectionCa() {
    return commits.inQueue(() -> {
      Config c = commits.active().config();
      io.portcullis.daemon.tls.InspectionCa next;
      try {
        next = caSource.rotate(c);
      } catch (IOException | IllegalStateException e) {
        return CompletableFuture.failedFuture(e);
      }
      return apply(c).thenApply(v -> {
        cluster.inspectionCaChanged(); // a control node's nodes, waiting for a revision, take the new CA now
        return next;
      });
    });
  }

  @Override
  public io.portcullis.daemon.config.ConfigDirectory configDirectory() {
    return configDirectory;
  }

  @Override
  public JsonObject users() {
    ServiceVerticle<ProxySettings> v = proxy.verticle();
    BasicAuth auth = v == null ? null : v.settings().auth();
    JsonArray out = new JsonArray();
    if (auth != null) {
      auth.logins().forEach(l -> out.add(new JsonObject().put("name", l.name()).put("via", l.via())
          .put("groups", new JsonArray(l.groups()))));
    }
    return new JsonObject().put("authentication", auth != null).put("users", out);
  }

  @Override
  public java.util.Map.Entry<String, java.util.List<String>> groupsOf(String user) throws Exception {
    ServiceVerticle<ProxySettings> v = proxy.verticle();
    BasicAuth auth = v == null ? null : v.settings().auth();
    return auth == null ? java.util.Map.entry("none", java.util.List.of()) : auth.groupsOf(user);
  }

  @Override
  public void useClusterInspectionCa(io.portcullis.daemon.tls.InspectionCa.Transfer ca) throws IOException {
    caSource.useCluster(ca);
    // In effect now, not at the next revision: the config in effect is applied again in the commit queue.
    commits.inQueue(() -> apply(commits.active().config())).join();
  }

  /** The scanner of the config compiled last, or null. */
  private synchronized io.portcullis.daemon.scan.Scanner scanner() {
    return compiled == null ? null : compiled.scanner();
  }

  /** Puts {@code next} into effect on every service, or on none: all new listeners bind before any old one stops. */
  @Override
  public CompletableFuture<Void> apply(Config next) {
    Compiled before = compiled;
    progress("compiling rules (" + next.rules().categories().size() + " category lists)", 0, 0);
    try {
      compile(next);
    } catch (Policy.PolicyException e) {
      return CompletableFuture.failedFuture(new IllegalStateException(e.getMessage()));
    }
    List<Service<?>> services = all();
    List<Future<ServiceVerticle.Prepared>> prepared = services.stream().map(s -> s.prepare(next)).toList();
    java.util.concurrent.atomic.AtomicInteger ready = new java.util.concurrent.atomic.AtomicInteger();
    progress("preparing services", 0, prepared.size());
    prepared.forEach(p -> p.onComplete(x -> progress("preparing services", ready.incrementAndGet(), prepared.size())));
    return Future.join(prepared).transform(ar -> {
      if (ar.succeeded()) {
        prepared.forEach(p -> p.result().activate());
        config = next;
        if (before != null && before.scanner() != compiled.scanner()) {
          before.scanner().close(); // scans in flight finish; no new ones start on it
        }
        return vertx.<Void>executeBlocking(() -> {
          events.configure(next.events(), baseDir, next.node().name()); // opens files, stops sink threads
          writeNetwork(next);
          return null;
        }).compose(x -> cluster.configure(next).recover(e -> {
          LOG.error("cluster: cannot run as {}: {}", next.cluster().role().name().toLowerCase(), e.toString());
          return Future.succeededFuture();
        }));
      }
      synchronized (this) {
        if (compiled.scanner() != before.scanner()) {
          compiled.scanner().close();
        }
        compiled = before;
      }
      List<String> reasons = new ArrayList<>();
      for (Future<ServiceVerticle.Prepared> p : prepared) {
        if (p.succeeded()) {
          p.result().abort();
        } else {
          reasons.add(p.cause().getMessage());
        }
      }
      return Future.<Void>failedFuture(String.join("; ", reasons));
    }).toCompletionStage().toCompletableFuture();
  }

  /** With network.manage, the settings as systemd files for the appliance's root helper; a failure is logged. */
  private void writeNetwork(Config c) {
    try {
      if (io.portcullis.daemon.system.NetworkFiles.write(c.network(), dataDir.resolve("network"))) {
        LOG.info("network settings written to {} for the system to apply", dataDir.resolve("network"));
      }
    } catch (IOException e) {
      LOG.error("network settings could not be written to {}: {}", dataDir.resolve("network"), e.toString());
    }
  }

  /** Tells the commit under way how far it is, once there is a commit queue. */
  private void progress(String phase, int done, int total) {
    CommitManager c = commits;
    if (c != null) {
      c.progress(phase, done, total);
    }
  }

  /** Stops accepting, lets in-flight work finish within {@code node.shutdownGrace}, then stops Vert.x. Idempotent. */
  public synchronized void stop() {
    if (stopped) {
      return; // a second SIGTERM waits for the first stop (synchronized) instead of cutting it short
    }
    stopped = true;
    Duration grace = config.node().shutdownGrace();
    LOG.info("stopping (grace {} ms) at revision {}", grace.toMillis(), commits == null ? 0 : commits.active().revision());
    try {
      await(cluster.stop().recover(e -> Future.succeededFuture()));
      await(Future.join(traffic.stream().map(Service::stop).toList()).recover(e -> Future.succeededFuture()));
      await(admin.stop().recover(e -> Future.succeededFuture()));
    } catch (Exception e) {
      LOG.warn("stopping services: {}", e.toString());
    }
    compactor.stop();
    if (commits != null) {
      commits.close();
    }
    events.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(grace.toMillis() + 5000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("closing Vert.x: {}", e.toString());
    }
    LOG.info("stopped");
  }

  /** The port a service has bound (tests and status), or -1. */
  @Override
  public int port(String service) {
    return all().stream().filter(s -> s.name().equals(service)).findFirst()
        .map(s -> s.verticle() == null ? -1 : s.verticle().port()).orElse(-1);
  }

  /** The state of {@code service}; an exception if there is no such service. */
  public ServiceState state(String service) {
    return all().stream().filter(s -> s.name().equals(service)).findFirst().map(Service::state).orElseThrow();
  }

  // What the admin API (AdminVerticle.Host) and the cluster (Cluster.Host) see of the node: the JSON comes from
  // NodeStatus and the cluster, the rest is the node's own parts.

  /** The config in effect. */
  @Override
  public Config config() {
    return config;
  }

  /** The commit queue; null until {@link #start} has made it. */
  @Override
  public CommitManager commits() {
    return commits;
  }

  /** The node's traffic events: journal, syslog targets, counts. */
  @Override
  public Events events() {
    return events;
  }

  /** The Bearer tokens the admin API accepts: the node's own and one per SSH console login. */
  @Override
  public Callers callers() {
    return callers;
  }

  /** The console's configuration sessions; null until {@link #start} has made them. */
  @Override
  public EditSessions sessions() {
    return sessions;
  }

  /** The rules in effect, compiled. */
  @Override
  public synchronized Policy policy() {
    return compiled == null ? Policy.EMPTY : compiled.policy();
  }

  /** The node's Vert.x. */
  @Override
  public Vertx vertx() {
    return vertx;
  }

  /** The checks behind {@code /health/live}. */
  @Override
  public HealthChecks liveness() {
    return liveness;
  }

  /** The checks behind {@code /health/ready}. */
  @Override
  public HealthChecks readiness() {
    return readiness;
  }

  /** Runs the readiness checks. */
  @Override
  public Future<CheckResult> checkReadiness() {
    return readiness.checkStatus();
  }

  /** This node's metrics in the Prometheus text format. */
  @Override
  public String scrape() {
    return registry.scrape();
  }

  /** This node's metrics and, on a control node, each reporting node's, in the Prometheus text format. */
  @Override
  public String metrics() {
    return cluster.metrics(registry.scrape());
  }

  /** The node's state for {@code show status}. */
  @Override
  public JsonObject status() {
    return nodeStatus.status();
  }

  /** The rules in effect with their decisions since the daemon started, then the proxy's own checks. */
  @Override
  public JsonObject rules() {
    return nodeStatus.rules();
  }

  /** The balancer's frontends and servers as they are now (state, connections, checks). */
  @Override
  public JsonObject balancerStatus() {
    return nodeStatus.balancer();
  }

  /** The balancer here and, on a control node, each node's balancer as it last reported it. */
  @Override
  public JsonObject clusterBalancerStatus() {
    return nodeStatus.clusterBalancer();
  }

  /** The node's place in its cluster, for {@code show cluster}. */
  @Override
  public JsonObject clusterStatus() {
    return cluster.status();
  }

  /** On a control node, the join key of listed node {@code name}; else an exception. */
  @Override
  public String joinKey(String name) {
    return cluster.joinKey(name);
  }

  /** On a control node with nodes, how many lag behind {@code revision}; else null. */
  @Override
  public JsonObject commitReport(int revision) {
    return cluster.commitReport(revision);
  }
}
