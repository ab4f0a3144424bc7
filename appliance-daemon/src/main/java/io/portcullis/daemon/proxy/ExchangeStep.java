package io.portcullis.daemon.proxy;

import io.vertx.core.Future;

/**
 * One step of the exchange pipeline (admit, authenticate, REQMOD, RESPMOD, forward or tunnel), in the shape of
 * vertx-http-proxy's interceptors: {@link #request} is walked forward, {@link #answer} backward, so a step that
 * answers itself (a block page, a 407) is never seen by the steps after it.
 */
public interface ExchangeStep {
  /** Handles the request: {@code ex.next()} passes it on and yields the answer; a step may answer itself instead. */
  default Future<Answer> request(Exchange ex) {
    return ex.next();
  }

  /** Handles the answer that came back from the steps after this one, on its way to the user. */
  default Future<Answer> answer(Exchange ex, Answer answer) {
    return Future.succeededFuture(answer);
  }
}
