package io.portcullis.daemon.proxy;

import io.portcullis.daemon.http1.Http1Framing;

/**
 * The proxy's limits on a request head, as {@link ProxyVerticle} names them. The strict check itself is
 * {@link Http1Framing}'s REQUEST mode, shared with the balancer.
 */
public final class RequestFraming {
  private RequestFraming() {
  }

  /** Limits on one message's head. */
  public record Limits(int maxRequestLine, int maxHeaderBytes, int maxHeaders) {
    /** A strict walk of a client's requests within these limits. */
    public Http1Framing framing() {
      return new Http1Framing(Http1Framing.Mode.REQUEST,
          Http1Framing.Limits.request(maxRequestLine, maxHeaderBytes, maxHeaders));
    }
  }
}
