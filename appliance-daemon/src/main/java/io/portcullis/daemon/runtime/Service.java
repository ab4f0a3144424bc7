package io.portcullis.daemon.runtime;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.HostPort;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One part of the daemon (proxy, icap, balancer, admin) as the config sees it: deploys its verticle when enabled,
 * undeploys it when disabled, moves it when its section changes, and keeps its state for health and status.
 *
 * @param <S> the part's config section
 */
public final class Service<S> {
  private static final Logger LOG = LoggerFactory.getLogger(Service.class);

  private final String name;
  private final Vertx vertx;
  private final Function<Config, S> section;
  private final Predicate<S> enabled;
  private final Function<S, ServiceVerticle<S>> factory;
  private volatile ServiceState state = ServiceState.disabled();
  private ServiceVerticle<S> verticle;
  private String deploymentId;
  private S current;
  private volatile Duration grace = Duration.ofSeconds(10);

  public Service(String name, Vertx vertx, Function<Config, S> section, Predicate<S> enabled,
      Function<S, ServiceVerticle<S>> factory) {
    this.name = name;
    this.vertx = vertx;
    this.section = section;
    this.enabled = enabled;
    this.factory = factory;
  }

  public String name() {
    return name;
  }

  public ServiceState state() {
    return state;
  }

  /** The running verticle, or null. */
  public ServiceVerticle<S> verticle() {
    return verticle;
  }

  /** Starts the service on {@code config}; a failure is logged and kept in the state, and the future fails. */
  public Future<Void> start(Config config) {
    grace = config.node().shutdownGrace();
    try {
      current = section.apply(config);
    } catch (RuntimeException e) {
      state = ServiceState.failed(null, e.getMessage());
      LOG.error("{} failed: {}", name, e.getMessage());
      return Future.failedFuture(e);
    }
    if (!enabled.test(current)) {
      state = ServiceState.disabled();
      return Future.succeededFuture();
    }
    return deploy(current).map(v -> (Void) null);
  }

  private Future<ServiceVerticle<S>> deploy(S s) {
    ServiceVerticle<S> v = factory.apply(s);
    v.grace(grace);
    String where = describe(v, s);
    state = new ServiceState(ServiceState.Kind.STARTING, where, null);
    return vertx.deployVerticle(v, new DeploymentOptions()).map(id -> {
      verticle = v;
      deploymentId = id;
      state = where == null ? ServiceState.running("no listener configured") : ServiceState.listening(where);
      LOG.info("{} {}", name, where == null ? "running" : "listening on " + where);
      return v;
    }).recover(err -> {
      String reason = where == null ? err.getMessage() : "cannot listen on " + where + ": " + err.getMessage();
      state = ServiceState.failed(where, reason);
      LOG.error("{} failed: {}", name, reason);
      return Future.failedFuture(new IllegalStateException(name + " " + reason, err));
    });
  }

  private String describe(ServiceVerticle<S> v, S s) {
    HostPort a = v.address(s);
    return a == null ? null : a.toString();
  }

  /** Readies the change to {@code next}; fails, with nothing changed, if the new section cannot run. */
  public Future<ServiceVerticle.Prepared> prepare(Config next) {
    S s;
    try {
      s = section.apply(next);
    } catch (RuntimeException e) {
      return Future.failedFuture(new IllegalStateException(name + ": " + e.getMessage(), e));
    }
    Duration newGrace = next.node().shutdownGrace();
    boolean on = enabled.test(s);
    boolean running = verticle != null;
    if (!on && !running) {
      return Future.succeededFuture(step(() -> {
        current = s;
        state = ServiceState.disabled();
      }, () -> { }));
    }
    if (!on) {
      return Future.succeededFuture(step(() -> {
        ServiceVerticle<S> old = verticle;
        String id = deploymentId;
        verticle = null;
        deploymentId = null;
        current = s;
        state = ServiceState.disabled();
        old.grace(newGrace);
        vertx.undeploy(id);
        LOG.info("{} disabled", name);
      }, () -> { }));
    }
    if (!running) {
      if (Objects.equals(s, current) && state.kind() == ServiceState.Kind.FAILED) {
        // Unchanged and still failing: leave it failed rather than refuse unrelated changes.
        return Future.succeededFuture(step(() -> { }, () -> { }));
      }
      ServiceState before = state;
      grace = newGrace;
      return deploy(s).map(v -> step(() -> current = s, () -> {
        vertx.undeploy(deploymentId);
        verticle = null;
        deploymentId = null;
        state = before;
      })).recover(err -> {
        state = before;
        return Future.failedFuture(err);
      });
    }
    ServiceVerticle<S> v = verticle;
    return v.prepare(s).map(p -> step(() -> {
      v.grace(newGrace);
      p.activate();
      current = s;
      String where = describe(v, s);
      state = where == null ? ServiceState.running("no listener configured") : ServiceState.listening(where);
    }, p::abort)).recover(err -> Future.failedFuture(
        new IllegalStateException(name + " cannot listen on " + describe(v, s) + ": " + err.getMessage(), err)));
  }

  /** Stops the service, letting connections finish within the grace time. */
  public Future<Void> stop() {
    String id = deploymentId;
    verticle = null;
    deploymentId = null;
    state = ServiceState.disabled();
    return id == null ? Future.succeededFuture() : vertx.undeploy(id);
  }

  private static ServiceVerticle.Prepared step(Runnable activate, Runnable abort) {
    return new ServiceVerticle.Prepared() {
      public void activate() {
        activate.run();
      }

      public void abort() {
        abort.run();
      }
    };
  }
}
