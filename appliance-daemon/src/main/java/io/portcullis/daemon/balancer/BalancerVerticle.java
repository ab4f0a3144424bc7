package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;

/** The balancer. Frontends come with their own issue; until then an enabled balancer has nothing to listen on. */
public final class BalancerVerticle extends ServiceVerticle<BalancerConfig> {

  public BalancerVerticle(BalancerConfig initial) {
    super(initial);
  }

  @Override
  protected HostPort address(BalancerConfig settings) {
    return null;
  }

  @Override
  protected Future<Listener> bind(HostPort address, BalancerConfig s) {
    return Future.failedFuture(new IllegalStateException("the balancer has no listener of its own"));
  }
}
