package io.portcullis.daemon.runtime;

import io.portcullis.daemon.config.Config;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the node's services (proxy, icap, balancer, admin, console) as the config sees it: deploys its verticle when
 * enabled (as several instances sharing one listening address, one per event loop, when it serves traffic), undeploys
 * it when disabled, moves it when its settings change, and keeps its state for health and status.
 *
 * @param <S> the service's settings, made from the config
 */
public final class Service<S> {
  private static final Logger LOG = LoggerFactory.getLogger(Service.class);

  private final String name;
  private final Vertx vertx;
  private final Function<Config, S> settings;
  private final Predicate<S> enabled;
  private final Function<S, ServiceVerticle<S>> factory;
  private final int instances;
  private volatile ServiceState state = ServiceState.disabled();
  private volatile List<ServiceVerticle<S>> verticles = List.of();
  private String deploymentId;
  private S current;
  private volatile Duration grace = Duration.ofSeconds(10);

  /** {@code settings} makes the service's settings from a config; {@code factory} a verticle for them. */
  public Service(String name, Vertx vertx, Function<Config, S> settings, Predicate<S> enabled,
      Function<S, ServiceVerticle<S>> factory, int instances) {
    this.name = name;
    this.vertx = vertx;
    this.settings = settings;
    this.enabled = enabled;
    this.factory = factory;
    this.instances = Math.max(1, instances);
  }

  /** The service's name in status, health checks and logs. */
  public String name() {
    return name;
  }

  /** Whether the service is disabled, starting, listening, running or failed, and where. */
  public ServiceState state() {
    return state;
  }

  /** One running instance, or null. */
  public ServiceVerticle<S> verticle() {
    List<ServiceVerticle<S>> v = verticles;
    return v.isEmpty() ? null : v.get(0);
  }

  /** Starts the service on {@code config}; a failure is logged and kept in the state, and the future fails. */
  public Future<Void> start(Config config) {
    grace = config.node().shutdownGrace();
    try {
      current = settings.apply(config);
    } catch (RuntimeException e) {
      state = ServiceState.failed(null, e.getMessage());
      LOG.error("{} failed: {}", name, e.getMessage());
      return Future.failedFuture(e);
    }
    if (!enabled.test(current)) {
      state = ServiceState.disabled();
      return Future.succeededFuture();
    }
    return deploy(current).mapEmpty();
  }

  private Future<String> deploy(S s) {
    List<ServiceVerticle<S>> made = new CopyOnWriteArrayList<>();
    String where = describe(s);
    state = new ServiceState(ServiceState.Kind.STARTING, where, null);
    return vertx.deployVerticle(() -> {
      ServiceVerticle<S> v = factory.apply(s);
      v.grace(grace);
      made.add(v);
      return v;
    }, new DeploymentOptions().setInstances(instances)).map(id -> {
      verticles = List.copyOf(made);
      deploymentId = id;
      state = where == null ? ServiceState.running("no listener configured") : ServiceState.listening(where);
      LOG.info("{} {}{}", name, where == null ? "running" : "listening on " + where,
          instances > 1 ? " (" + instances + " event loops)" : "");
      return id;
    }).recover(err -> {
      String reason = where == null ? err.getMessage() : "cannot listen on " + where + ": " + err.getMessage();
      state = ServiceState.failed(where, reason);
      LOG.error("{} failed: {}", name, reason);
      return Future.failedFuture(new IllegalStateException(name + " " + reason, err));
    });
  }

  private String describe(S s) {
    return factory.apply(s).where(s);
  }

  /** Readies the change to {@code next}; fails, with nothing changed, if the new settings cannot run. */
  public Future<ServiceVerticle.Prepared> prepare(Config next) {
    S s;
    try {
      s = settings.apply(next);
    } catch (RuntimeException e) {
      return Future.failedFuture(new IllegalStateException(name + ": " + e.getMessage(), e));
    }
    Duration newGrace = next.node().shutdownGrace();
    boolean on = enabled.test(s);
    List<ServiceVerticle<S>> running = verticles;
    if (!on && running.isEmpty()) {
      return Future.succeededFuture(step(() -> {
        current = s;
        state = ServiceState.disabled();
      }, () -> { }));
    }
    if (!on) {
      return Future.succeededFuture(step(() -> {
        String id = deploymentId;
        running.forEach(v -> v.grace(newGrace));
        verticles = List.of();
        deploymentId = null;
        current = s;
        state = ServiceState.disabled();
        vertx.undeploy(id);
        LOG.info("{} disabled", name);
      }, () -> { }));
    }
    if (running.isEmpty()) {
      if (Objects.equals(s, current) && state.kind() == ServiceState.Kind.FAILED) {
        // Unchanged and still failing: leave it failed rather than refuse unrelated changes.
        return Future.succeededFuture(step(() -> { }, () -> { }));
      }
      ServiceState before = state;
      grace = newGrace;
      return deploy(s).map(id -> step(() -> current = s, () -> {
        vertx.undeploy(id);
        verticles = List.of();
        deploymentId = null;
        state = before;
      })).recover(err -> {
        state = before;
        return Future.failedFuture(err);
      });
    }
    List<Future<ServiceVerticle.Prepared>> each = new ArrayList<>();
    for (ServiceVerticle<S> v : running) {
      each.add(v.prepare(s));
    }
    return Future.join(each).transform(ar -> {
      if (ar.failed()) {
        Throwable cause = null;
        for (Future<ServiceVerticle.Prepared> f : each) {
          if (f.succeeded()) {
            f.result().abort();
          } else if (cause == null) {
            cause = f.cause();
          }
        }
        return Future.failedFuture(new IllegalStateException(name + " cannot listen on " + describe(s) + ": "
            + cause.getMessage(), cause));
      }
      return Future.succeededFuture(step(() -> {
        for (int i = 0; i < running.size(); i++) {
          running.get(i).grace(newGrace);
          each.get(i).result().activate();
        }
        current = s;
        String where = describe(s);
        state = where == null ? ServiceState.running("no listener configured") : ServiceState.listening(where);
      }, () -> each.forEach(f -> f.result().abort())));
    });
  }

  /** Stops the service, letting connections finish within the grace time. */
  public Future<Void> stop() {
    String id = deploymentId;
    verticles = List.of();
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
