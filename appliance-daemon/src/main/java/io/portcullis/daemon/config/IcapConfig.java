package io.portcullis.daemon.config;

import java.time.Duration;

/** The ICAP server verticle. */
public record IcapConfig(
    @Doc("run the ICAP server") @Default("true") boolean enabled,
    @Doc("address the ICAP server listens on") @Default("0.0.0.0:1344") HostPort listen,
    @Doc("client networks the ICAP server serves (Squid, other proxies, the balancer); any other client is closed "
        + "at accept and counted, so no one else may test content against the rules or claim an identity")
    @Default("127.0.0.0/8, ::1, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16") java.util.List<Cidr> allowedClients,
    @Doc("preview size offered in OPTIONS, bytes") @Default("4096") int preview,
    @Doc("connections served at once (also advertised as Max-Connections); more get ICAP 503")
    @Default("1000") int maxConnections,
    @Doc("how long clients may cache the OPTIONS answer") @Default("1h") Duration optionsTtl,
    @Doc("close a connection that has sent and received nothing for this long") @Default("10m") Duration idleTimeout,
    @Doc("time a client has, once a message begins, to send its whole head (ICAP and encapsulated HTTP headers); "
        + "408 and close after (a slowloris)") @Default("30s") Duration headerTimeout,
    @Doc("body bytes the ICAP server holds at once to scan them, all connections together (each body at most "
        + "scan.maxSize); a body that would pass it is not scanned and its protection rule's onError decides, as for "
        + "a failed scan: the node refuses rather than grows; 128MiB style units allowed") @Default("128MiB") long maxBufferedBytes,
    @Doc("size limits on what ICAP clients send") IcapLimits limits,
    @Doc("where the client's identity comes from") IcapIdentity identity) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    if (preview < 0 || preview > 1024 * 1024) {
      problems.add(path + ".preview", preview + " is not between 0 and 1048576");
    }
    if (maxConnections < 1 || maxConnections > 1_000_000) {
      problems.add(path + ".maxConnections", maxConnections + " is not between 1 and 1000000");
    }
    if (maxBufferedBytes < 65536 || maxBufferedBytes > (1L << 40)) {
      problems.add(path + ".maxBufferedBytes", maxBufferedBytes + " is not between 65536 and 2^40");
    }
    if (headerTimeout.toMillis() < 100) {
      problems.add(path + ".headerTimeout", "must be at least 100ms");
    }
    if (idleTimeout.toSeconds() < 1) {
      problems.add(path + ".idleTimeout", "must be at least 1s");
    }
    if (optionsTtl.toSeconds() < 1) {
      problems.add(path + ".optionsTtl", "must be at least 1s");
    }
  }

  /** Bounds on ICAP input; a message beyond them gets ICAP 400 and the connection closes. */
  public record IcapLimits(
      @Doc("ICAP request line and headers, bytes") @Default("16384") int maxHeaderBytes,
      @Doc("fields per ICAP or HTTP header block") @Default("100") int maxHeaderCount,
      @Doc("all encapsulated HTTP headers of one message, bytes") @Default("65536") int maxHttpHeaderBytes,
      @Doc("declared size of one body chunk, bytes") @Default("16777216") long maxChunkSize) implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (maxHeaderBytes < 1024 || maxHeaderBytes > 1024 * 1024) {
        problems.add(path + ".maxHeaderBytes", maxHeaderBytes + " is not between 1024 and 1048576");
      }
      if (maxHeaderCount < 8 || maxHeaderCount > 10_000) {
        problems.add(path + ".maxHeaderCount", maxHeaderCount + " is not between 8 and 10000");
      }
      if (maxHttpHeaderBytes < 1024 || maxHttpHeaderBytes > 16 * 1024 * 1024) {
        problems.add(path + ".maxHttpHeaderBytes", maxHttpHeaderBytes + " is not between 1024 and 16777216");
      }
      if (maxChunkSize < 1 || maxChunkSize > (1L << 40)) {
        problems.add(path + ".maxChunkSize", maxChunkSize + " is not between 1 and 2^40");
      }
    }
  }

  /** ICAP headers that carry the client's address and user name (Squid sends X-Client-IP and X-Client-Username). */
  public record IcapIdentity(
      @Doc("header with the client's IP address") @Default("X-Client-IP") String clientIpHeader,
      @Doc("headers with the user name, the first present wins")
      @Default("X-Client-Username, X-Authenticated-User") java.util.List<String> userHeaders,
      @Doc("user names arrive Base64-encoded (Squid's icap_client_username_encode on)") @Default("false")
      boolean base64Users) {
  }
}
