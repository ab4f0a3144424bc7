package io.portcullis.daemon.icap.codec;

import java.nio.charset.StandardCharsets;

/** Writes ICAP message heads (with a computed {@code Encapsulated}) and chunked-body framing. */
public final class IcapEncoder {
  public static final byte[] CRLF = {'\r', '\n'};
  public static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  public static final byte[] LAST_CHUNK_IEOF = "0; ieof\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

  private IcapEncoder() {
  }

  /** The request line, headers, {@code Encapsulated} and HTTP heads of {@code r}; the body follows as chunks. */
  public static byte[] encode(IcapRequest r) {
    StringBuilder sb = new StringBuilder(256);
    sb.append(r.method()).append(' ').append(r.uri()).append(" ICAP/1.0\r\n");
    Headers h = r.headers().without("Encapsulated").without("Preview");
    if (r.preview() >= 0) {
      h = h.with("Preview", Integer.toString(r.preview()));
    }
    return finish(sb, h, r);
  }

  /** The status line, headers, {@code Encapsulated} and HTTP heads of {@code r}; the body follows as chunks. */
  public static byte[] encode(IcapResponse r) {
    StringBuilder sb = new StringBuilder(256);
    sb.append("ICAP/1.0 ").append(r.status()).append(' ').append(r.reason()).append("\r\n");
    return finish(sb, r.headers().without("Encapsulated"), r);
  }

  private static byte[] finish(StringBuilder sb, Headers h, IcapMessage m) {
    h.appendTo(sb);
    byte[] req = m.httpRequest() == null ? null : m.httpRequest().encode();
    byte[] res = m.httpResponse() == null ? null : m.httpResponse().encode();
    sb.append("Encapsulated: ");
    int offset = 0;
    if (req != null) {
      sb.append("req-hdr=0, ");
      offset += req.length;
    }
    if (res != null) {
      sb.append("res-hdr=").append(offset).append(", ");
      offset += res.length;
    }
    sb.append(m.body().token()).append('=').append(offset).append("\r\n\r\n");
    byte[] head = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] out = new byte[head.length + offset];
    System.arraycopy(head, 0, out, 0, head.length);
    int at = head.length;
    if (req != null) {
      System.arraycopy(req, 0, out, at, req.length);
      at += req.length;
    }
    if (res != null) {
      System.arraycopy(res, 0, out, at, res.length);
    }
    return out;
  }

  /** The size line that precedes {@code size} bytes of chunk data (which {@link #CRLF} must follow). */
  public static byte[] chunkHeader(int size) {
    return (Integer.toHexString(size) + "\r\n").getBytes(StandardCharsets.US_ASCII);
  }

  /** One whole chunk around {@code data}. */
  public static byte[] chunk(byte[] data) {
    byte[] head = chunkHeader(data.length);
    byte[] out = new byte[head.length + data.length + 2];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(data, 0, out, head.length, data.length);
    out[out.length - 2] = '\r';
    out[out.length - 1] = '\n';
    return out;
  }
}
