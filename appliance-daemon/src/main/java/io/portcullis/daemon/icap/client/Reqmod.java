package io.portcullis.daemon.icap.client;

import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

/**
 * One REQMOD transaction: without a body, a plain exchange offering 204; with one, a zero-byte preview, so the body
 * stays with the client until the ICAP server asks for it, then goes whole, up to {@code maxBody} bytes.
 */
public final class Reqmod {
  /** Who asks, as the ICAP server is told (X-Client-IP, X-Client-Username, X-Authenticated-Groups). */
  public record Asker(String client, String user, List<String> groups) {
  }

  private final IcapClient icap;
  private final List<IcapService> services;
  private final long maxBody;

  public Reqmod(IcapClient icap, List<IcapService> services, long maxBody) {
    this.icap = icap;
    this.services = services;
    this.maxBody = maxBody;
  }

  /** Asks about {@code head}; {@code body} (paused) is read only if the server asks for it. */
  public Future<IcapClient.Answer> ask(Asker who, HttpHead head, ReadStream<Buffer> body) {
    return icap.acquire(services).compose(acq -> {
      IcapRequest r = IcapClient.askingForDecision(IcapClient.request("REQMOD", acq.conn().service(), who.client(),
          who.user(), who.groups(), head, null, body != null ? BodyKind.REQ_BODY : BodyKind.NULL_BODY,
          body != null ? 0 : -1, body == null));
      byte[] bytes = IcapEncoder.encode(r);
      if (body != null) {
        byte[] withEnd = Arrays.copyOf(bytes, bytes.length + IcapEncoder.LAST_CHUNK.length);
        System.arraycopy(IcapEncoder.LAST_CHUNK, 0, withEnd, bytes.length, IcapEncoder.LAST_CHUNK.length);
        bytes = withEnd;
      }
      return icap.exchange(acq.conn(), bytes, maxBody, () -> collect(body, maxBody).map(b -> {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length() + 32);
        if (b.length() > 0) {
          out.writeBytes(IcapEncoder.chunk(b.getBytes()));
        }
        out.writeBytes(IcapEncoder.LAST_CHUNK);
        return out.toByteArray();
      })).onComplete(x -> icap.pool().release(acq.conn(), x.succeeded()));
    });
  }

  /** The whole of {@code body}, up to {@code max} bytes. */
  private static Future<Buffer> collect(ReadStream<Buffer> body, long max) {
    Promise<Buffer> p = Promise.promise();
    Buffer all = Buffer.buffer();
    body.handler(b -> {
      if (all.length() + b.length() > max) {
        p.tryFail("request body larger than proxy.icap.maxBufferedBody");
        body.pause();
        return;
      }
      all.appendBuffer(b);
    });
    body.endHandler(v -> p.tryComplete(all));
    body.exceptionHandler(p::tryFail);
    body.resume();
    return p.future();
  }
}
