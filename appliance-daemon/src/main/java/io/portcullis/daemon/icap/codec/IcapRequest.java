package io.portcullis.daemon.icap.codec;

/**
 * An ICAP request head. {@code preview} is the {@code Preview} header's byte count, or -1 when there is none;
 * {@code headers} never hold {@code Encapsulated} or {@code Preview} (the encoder writes it from the heads and the body kind).
 */
public record IcapRequest(String method, String uri, Headers headers, HttpHead httpRequest, HttpHead httpResponse,
    BodyKind body, int preview) implements IcapMessage {

  /** The service path of the URI ({@code /av/reqmod} of {@code icap://host:1344/av/reqmod?x}). */
  public String servicePath() {
    int scheme = uri.indexOf("://");
    int slash = scheme < 0 ? uri.indexOf('/') : uri.indexOf('/', scheme + 3);
    if (slash < 0) {
      return "/";
    }
    int q = uri.indexOf('?', slash);
    return q < 0 ? uri.substring(slash) : uri.substring(slash, q);
  }

  /** True when the client sent a preview: the body's first {@link #preview} bytes come first, then a pause. */
  public boolean hasPreview() {
    return preview >= 0 && body.hasBody();
  }
}
