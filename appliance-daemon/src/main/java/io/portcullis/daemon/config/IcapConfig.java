package io.portcullis.daemon.config;

/** The ICAP server verticle. */
public record IcapConfig(
    @Doc("run the ICAP server") @Default("true") boolean enabled,
    @Doc("address the ICAP server listens on") @Default("0.0.0.0:1344") HostPort listen) {
}
