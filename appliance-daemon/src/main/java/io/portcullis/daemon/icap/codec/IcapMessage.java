package io.portcullis.daemon.icap.codec;

/** What ICAP requests and responses share: ICAP headers, encapsulated HTTP heads, and which body follows. */
public sealed interface IcapMessage permits IcapRequest, IcapResponse {

  Headers headers();

  /** The encapsulated HTTP request head ({@code req-hdr}), or null. */
  HttpHead httpRequest();

  /** The encapsulated HTTP response head ({@code res-hdr}), or null. */
  HttpHead httpResponse();

  BodyKind body();
}
