package io.portcullis.daemon.config;

/** The balancer verticle. */
public record BalancerConfig(
    @Doc("run the balancer") @Default("false") boolean enabled) {
}
