package io.portcullis.daemon.icap.codec;

/** An ICAP response head; {@code headers} never hold {@code Encapsulated} (the encoder writes it). */
public record IcapResponse(int status, String reason, Headers headers, HttpHead httpRequest, HttpHead httpResponse,
    BodyKind body) implements IcapMessage {
}
