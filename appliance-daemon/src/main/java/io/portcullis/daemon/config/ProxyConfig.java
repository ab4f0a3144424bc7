package io.portcullis.daemon.config;

/** The forward HTTP proxy verticle. */
public record ProxyConfig(
    @Doc("run the proxy") @Default("true") boolean enabled,
    @Doc("address the proxy listens on") @Default("0.0.0.0:3128") HostPort listen) {
}
