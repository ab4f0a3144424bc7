package io.portcullis.daemon.runtime;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;
import io.vertx.core.net.NetServer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A bound server socket of a verticle, whatever its protocol. */
public interface Listener {

  /** The port actually bound. */
  int port();

  /** Stops accepting at once; lets open connections finish for up to {@code grace}, then closes them. */
  Future<Void> shutdown(Duration grace);

  static Listener of(HttpServer server) {
    return new Listener() {
      public int port() {
        return server.actualPort();
      }

      public Future<Void> shutdown(Duration grace) {
        return server.shutdown(grace.toMillis(), TimeUnit.MILLISECONDS);
      }
    };
  }

  static Listener of(NetServer server) {
    return new Listener() {
      public int port() {
        return server.actualPort();
      }

      public Future<Void> shutdown(Duration grace) {
        return server.shutdown(grace.toMillis(), TimeUnit.MILLISECONDS);
      }
    };
  }
}
