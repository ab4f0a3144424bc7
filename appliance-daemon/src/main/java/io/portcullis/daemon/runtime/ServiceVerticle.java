package io.portcullis.daemon.runtime;

import io.portcullis.daemon.config.HostPort;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.Objects;

/**
 * A verticle that serves on one address and takes new settings without dropping its connections: a new address is
 * bound before the old one stops accepting, and the old one's connections finish within the grace time. Subclasses
 * say how to bind ({@link #bind}) and read {@link #settings()} per request, so a settings change applies at once.
 *
 * @param <S> the verticle's settings, made from the config
 */
public abstract class ServiceVerticle<S> extends VerticleBase {
  private volatile S settings;
  private Listener listener;
  private HostPort boundAddress;
  private volatile Duration grace = Duration.ofSeconds(10);

  /** A prepared change: {@link #activate} puts it into effect; {@link #abort} undoes what prepare did. */
  public interface Prepared {
    void activate();

    void abort();
  }

  protected ServiceVerticle(S initial) {
    this.settings = Objects.requireNonNull(initial);
  }

  /** The settings in effect; read per request or per connection. */
  public S settings() {
    return settings;
  }

  /** Puts {@code next} into effect, for verticles that prepare their own changes. */
  protected void settings(S next) {
    this.settings = Objects.requireNonNull(next);
  }

  /** How long connections may finish when a listener stops. */
  protected Duration grace() {
    return grace;
  }

  /** The address this verticle's settings ask for, or null if it listens nowhere. */
  protected abstract HostPort address(S settings);

  /** Where the service listens, as its state shows it (a balancer lists every frontend's address); null if nowhere. */
  public String where(S settings) {
    HostPort a = address(settings);
    return a == null ? null : a.toString();
  }

  /**
   * Creates the server with its handlers and binds it to {@code address}, with the listener options of {@code s} (the
   * settings about to come into effect, not {@link #settings()}). Runs on this verticle's context.
   */
  protected abstract Future<Listener> bind(HostPort address, S s);

  /**
   * Readies {@code next} on the listener already bound (the address did not move), on this verticle's context: a
   * verticle whose listener holds more than its address (a certificate) updates it here; a failure fails the commit.
   */
  protected Future<Void> keep(S previous, S next) {
    return Future.succeededFuture();
  }

  /** How long connections may finish when a listener stops (on a move or at shutdown). */
  public void grace(Duration grace) {
    this.grace = grace;
  }

  /** The port bound, or -1. */
  public int port() {
    Listener l = listener;
    return l == null ? -1 : l.port();
  }

  @Override
  public Future<?> start() {
    HostPort address = address(settings);
    if (address == null) {
      return Future.succeededFuture();
    }
    return bind(address, settings).map(l -> {
      listener = l;
      boundAddress = address;
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    Listener l = listener;
    listener = null;
    return l == null ? Future.succeededFuture() : l.shutdown(grace);
  }

  /** Readies {@code next}: binds its address first if it moved. Fails, with nothing changed, if it cannot bind. */
  public Future<Prepared> prepare(S next) {
    Promise<Prepared> promise = Promise.promise();
    context.runOnContext(v -> {
      HostPort address = address(next);
      if (Objects.equals(address, boundAddress)) {
        S previous = settings;
        Future<Void> kept = address == null ? Future.succeededFuture() : keep(previous, next);
        kept.onFailure(promise::fail).onSuccess(x -> promise.complete(new Prepared() {
          public void activate() {
            settings = next;
          }

          public void abort() {
            if (address != null) {
              context.runOnContext(y -> keep(next, previous)); // what the listener held before, back
            }
          }
        }));
        return;
      }
      Future<Listener> bound = address == null ? Future.succeededFuture(null) : bind(address, next);
      bound.onComplete(ar -> {
        if (ar.failed()) {
          HostPort was = boundAddress;
          if (was != null && address != null && was.port() == address.port()) {
            // The old address holds the port (e.g. 127.0.0.1:1344 -> 0.0.0.0:1344): the new one cannot be bound
            // before the old one stops, and stopping first could lose the service. Say so; nothing changes.
            promise.fail(new IllegalStateException("cannot move from " + was + " to " + address
                + " while running: the old address holds the port; restart the daemon to apply it ("
                + ar.cause().getMessage() + ")"));
            return;
          }
          promise.fail(ar.cause());
          return;
        }
        Listener fresh = ar.result();
        promise.complete(new Prepared() {
          public void activate() {
            settings = next;
            context.runOnContext(x -> {
              Listener old = listener;
              listener = fresh;
              boundAddress = address;
              if (old != null) {
                old.shutdown(grace);
              }
            });
          }

          public void abort() {
            if (fresh != null) {
              fresh.shutdown(Duration.ZERO);
            }
          }
        });
      });
    });
    return promise.future();
  }
}
