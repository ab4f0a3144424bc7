package io.portcullis.daemon.icap.client;

import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.time.Duration;
import java.util.List;

/**
 * One RESPMOD transaction, streamed (Squid's ModXact): the origin's head and first {@code Preview} bytes go to the
 * ICAP server; a 204 gives the origin's response back unchanged (what was read plus the rest, straight from the
 * origin); a 100 Continue sends the rest of the body as it comes (kept too, when small enough that 204 was
 * offered); a 200 gives the ICAP server's message, its body streamed as it comes. Back-pressure both ways; a timeout
 * before the answer begins is a failure.
 */
public final class Respmod {
  /** The origin's response: its head as ICAP carries it, whether it can have a body, its length (-1: unknown). */
  public record Origin(HttpHead head, boolean noBody, long length, ReadStream<Buffer> body, Runnable abort) {
  }

  /** How the transaction ended once the ICAP server answered; {@code icapNanos}: the wait for that answer. */
  public sealed interface Outcome permits Unchanged, Adapted {
    IcapResponse answer();

    long icapNanos();
  }

  /** 204: the origin's response goes as it was: {@code read} first, then the rest of its body unless {@code ended}. */
  public record Unchanged(IcapResponse answer, long icapNanos, Buffer read, boolean ended) implements Outcome {
  }

  /** 200: the ICAP server's message; its body, if it has one, streams from {@code body}. */
  public record Adapted(IcapResponse answer, long icapNanos, ReadStream<Buffer> body) implements Outcome {
  }

  /**
   * The transaction failed before an answer began. {@code bypassable}: the origin's response can still go
   * unscanned ({@code read}, then the rest unless {@code ended}); {@code byOrigin}: the origin failed, not ICAP.
   */
  public static final class Failed extends RuntimeException {
    public final boolean bypassable;
    public final boolean byOrigin;
    public final transient Buffer read;
    public final boolean ended;

    Failed(Throwable cause, boolean bypassable, boolean byOrigin, Buffer read, boolean ended) {
      super(cause.getMessage(), cause, false, false);
      this.bypassable = bypassable;
      this.byOrigin = byOrigin;
      this.read = read;
      this.ended = ended;
    }
  }

  private final Vertx vertx;
  private final IcapClient icap;
  private final List<IcapService> services;
  private final Duration timeout;
  private final long maxBufferedBody;
  private final Promise<Outcome> outcome = Promise.promise();
  private Origin origin;
  private Buffer read = Buffer.buffer(); // body bytes read from the origin and not yet relayed
  private IcapConnectionPool.Conn conn;
  private int preview;
  private boolean offered204;
  private boolean continued;
  private boolean originEnded;
  private boolean done;
  private IcapResponse answer;
  private IcapStream adapted; // the 200's body, once it streams
  private long timer = -1;
  private byte[] head; // the RESPMOD head, until the preview goes with it
  private long started;

  public Respmod(Vertx vertx, IcapClient icap, List<IcapService> services, Duration timeout, long maxBufferedBody) {
    this.vertx = vertx;
    this.icap = icap;
    this.services = services;
    this.timeout = timeout;
    this.maxBufferedBody = maxBufferedBody;
  }

  /** Starts the transaction for {@code origin} (its body paused) answering {@code request}. */
  public Future<Outcome> start(Reqmod.Asker who, HttpHead request, Origin origin) {
    this.origin = origin;
    origin.body().pause();
    started = System.nanoTime();
    icap.acquire(services).onComplete(ar -> {
      if (ar.failed()) {
        fail(ar.cause());
        return;
      }
      if (done) {
        icap.pool().release(ar.result().conn(), true); // abandoned while waiting: unused, as good as new
        return;
      }
      conn = ar.result().conn();
      preview = Math.max(0, ar.result().options().preview());
      conn.attach(this::onIcap, () -> fail(new IllegalStateException("ICAP service closed the connection")));
      timer = vertx.setTimer(timeout.toMillis(), t -> fail(new IllegalStateException("ICAP service timed out")));
      offered204 = origin.noBody() || (origin.length() >= 0 && origin.length() <= maxBufferedBody);
      IcapRequest r = IcapClient.askingForDecision(IcapClient.request("RESPMOD", conn.service(), who.client(),
          who.user(), who.groups(), request, origin.head(), origin.noBody() ? BodyKind.NULL_BODY : BodyKind.RES_BODY,
          origin.noBody() ? -1 : preview, offered204));
      if (origin.noBody()) {
        originEnded = true;
        conn.socket().write(Buffer.buffer(IcapEncoder.encode(r)));
        origin.body().resume();
        return;
      }
      head = IcapEncoder.encode(r); // sent with the preview, in one write (one segment, one wake-up)
      origin.body().handler(this::onPreviewData);
      origin.body().endHandler(v -> {
        originEnded = true;
        sendPreview();
      });
      origin.body().exceptionHandler(this::originFailed);
      origin.body().resume();
    });
    return outcome.future();
  }

  private void onPreviewData(Buffer b) {
    read.appendBuffer(b);
    if (read.length() >= preview) {
      origin.body().pause();
      sendPreview();
    }
  }

  /** Sends the preview: the first {@code preview} bytes, then {@code 0; ieof} if that was all, else {@code 0}. */
  private void sendPreview() {
    if (!originEnded) {
      origin.body().handler(null); // the rest waits (paused) for the ICAP server's word
      origin.body().endHandler(v -> originEnded = true);
    }
    int n = Math.min(preview, read.length());
    boolean all = originEnded && read.length() <= preview;
    byte[] last = all ? IcapEncoder.LAST_CHUNK_IEOF : IcapEncoder.LAST_CHUNK;
    Buffer out = Buffer.buffer(head.length + n + 32 + last.length).appendBytes(head);
    if (n > 0) {
      out.appendString(Integer.toHexString(n)).appendBytes(IcapEncoder.CRLF).appendBuffer(read, 0, n)
          .appendBytes(IcapEncoder.CRLF);
    }
    out.appendBytes(last);
    head = null;
    conn.socket().write(out);
  }

  private void onIcap(IcapDecoder.Event e) {
    if (done) {
      return;
    }
    if (e instanceof IcapDecoder.Head h) {
      IcapResponse r = (IcapResponse) h.message();
      if (r.status() == 100) {
        return; // the End that follows asks for the rest
      }
      cancelTimer();
      answer = r;
      if (r.status() == 200 && r.httpResponse() != null) {
        stopFeedingIcapIfNotContinued();
        adapted = new IcapStream(conn.socket());
        if (!r.body().hasBody()) {
          adapted.end();
        }
        outcome.tryComplete(new Adapted(r, System.nanoTime() - started, adapted));
      } else if (r.status() != 204) {
        fail(new IllegalStateException("ICAP answered " + r.status() + " " + r.reason()));
      }
    } else if (e instanceof IcapDecoder.Body b) {
      if (adapted != null) {
        byte[] chunk = new byte[b.data().remaining()];
        b.data().get(chunk);
        adapted.data(Buffer.buffer(chunk));
      }
    } else if (e instanceof IcapDecoder.End) {
      if (answer == null) {
        continueBody(); // a 100 Continue has ended
      } else if (answer.status() == 204) {
        done = true;
        icap.pool().release(conn, true);
        outcome.tryComplete(new Unchanged(answer, System.nanoTime() - started, read, originEnded));
      } else if (adapted != null) {
        done = true;
        adapted.end();
        icap.pool().release(conn, originEnded);
      }
    } else if (e instanceof IcapDecoder.Error err) {
      fail(new IllegalStateException("bad ICAP answer: " + err.reason()));
    }
  }

  /** After 100 Continue: the bytes read beyond the preview, then the rest of the body as it comes. */
  private void continueBody() {
    continued = true;
    if (read.length() > preview) {
      conn.socket().write(Buffer.buffer(IcapEncoder.chunk(read.getBytes(preview, read.length()))));
    }
    if (!offered204) {
      read = Buffer.buffer(); // not kept: without 204 the ICAP server must send the body back
    }
    if (originEnded) {
      conn.socket().write(Buffer.buffer(IcapEncoder.LAST_CHUNK));
      return;
    }
    ReadStream<Buffer> body = origin.body();
    body.handler(b -> {
      if (offered204) {
        read.appendBuffer(b);
      }
      conn.socket().write(Buffer.buffer(IcapEncoder.chunk(b.getBytes())));
      if (conn.socket().writeQueueFull()) {
        body.pause();
        conn.socket().drainHandler(v -> body.resume());
      }
    });
    body.endHandler(v -> {
      originEnded = true;
      conn.socket().write(Buffer.buffer(IcapEncoder.LAST_CHUNK));
    });
    body.resume();
  }

  private void stopFeedingIcapIfNotContinued() {
    if (!continued && !originEnded) {
      // The ICAP server answered after the preview: it wants no more of the body; drop the origin's rest.
      origin.body().handler(null);
      origin.abort().run();
    }
  }

  private void cancelTimer() {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
  }

  private void originFailed(Throwable t) {
    stop(t, true);
  }

  /** The user's answer is over (proxy.requestTimeout, a refused body): the ICAP exchange and the origin stop here. */
  public void abandon() {
    if (done) {
      return;
    }
    done = true;
    cancelTimer();
    if (conn != null) {
      icap.pool().discard(conn); // mid-exchange: its remaining bytes would confuse the next user
    }
    origin.abort().run();
  }

  private void fail(Throwable cause) {
    stop(cause, false);
  }

  /** Ends the transaction on a failure: before an answer, as {@link Failed}; during a 200's body, on that body. */
  private void stop(Throwable cause, boolean byOrigin) {
    if (done) {
      return;
    }
    done = true;
    cancelTimer();
    if (conn != null) {
      icap.pool().discard(conn);
    }
    Failed f = new Failed(cause, !byOrigin && (!continued || offered204), byOrigin, read, originEnded);
    if (adapted != null) {
      adapted.fail(f);
    } else {
      outcome.tryFail(f); // the caller bypasses (relays the origin's response) or aborts the origin
    }
  }
}
