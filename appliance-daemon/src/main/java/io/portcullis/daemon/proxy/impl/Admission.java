package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.rules.CidrMatcher;
import io.vertx.core.Future;

/** The first step: only clients in proxy.allowedClients are served; the others get 403 and a close. */
record Admission() implements ExchangeStep {
  @Override
  public Future<Answer> request(Exchange ex) {
    if (!CidrMatcher.anyMatches(ex.settings().allowedClients(), CidrMatcher.literal(ex.record().client))) {
      ex.record().decide("block", "proxy.allowedClients");
      return Future.succeededFuture(ex.page(403, "Access denied", "This proxy does not serve your network.", true));
    }
    return ex.next();
  }
}
