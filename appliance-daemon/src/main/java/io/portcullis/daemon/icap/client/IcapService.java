package io.portcullis.daemon.icap.client;

import java.net.URI;

/** One ICAP service the proxy uses: where it listens and its URI ({@code icap://host:port/path}). */
public record IcapService(String host, int port, String uri) {

  public static IcapService parse(String url) {
    URI u = URI.create(url);
    return new IcapService(u.getHost(), u.getPort() > 0 ? u.getPort() : 1344, url);
  }

  @Override
  public String toString() {
    return uri;
  }
}
