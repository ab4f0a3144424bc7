package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.http1.HopByHop;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers that come from elsewhere and how they reach the user: the origin's response (streamed, or after a
 * RESPMOD 204 with what was read first), a message an ICAP server made whole (a block page, a redirect), and one an
 * ICAP server adapted (its body streamed). End-to-end headers only, {@code Via} added, back-pressure both ways.
 */
final class Relay {
  private static final Logger LOG = LoggerFactory.getLogger(Relay.class);

  private Relay() {
  }

  /** The origin's response: {@code read} (body bytes taken already) first, then the rest unless {@code ended}. */
  static Answer origin(HttpClientResponse res, Buffer read, boolean ended) {
    return new FromOrigin(res, read, ended);
  }

  /** The origin's response as an answer (RESPMOD looks for it). */
  record FromOrigin(HttpClientResponse res, Buffer read, boolean ended) implements Answer {
    @Override
    public void send(Exchange ex) {
      HttpServerRequest req = ex.request();
      HttpServerResponse out = req.response();
      out.setStatusCode(res.statusCode());
      out.setStatusMessage(res.statusMessage());
      HopByHop.copyHeaders(res.headers(), out.headers());
      out.headers().add("Via", ex.via(res.version().alpnName()));
      int status = res.statusCode();
      if (req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200) {
        if (ended) {
          out.end();
        } else {
          res.body().onComplete(x -> out.end());
          res.resume();
        }
        return;
      }
      if (!res.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
        unknownLength(req, out);
      }
      if (read.length() > 0) {
        out.write(read);
      }
      if (ended) {
        out.end();
        return;
      }
      stream(ex, res, () -> res.request().reset(), null);
    }

    @Override
    public void discard() {
      // The user went away while the origin answered: the reset's own failure is expected, not an error.
      res.exceptionHandler(e -> LOG.debug("origin answer for a gone user: {}", e.toString()));
      res.request().reset();
    }
  }

  /** A message an ICAP server made whole; {@code close}: the connection closes after it (an answered CONNECT). */
  static Answer message(HttpHead head, Buffer body, boolean close) {
    return new Answer() {
      @Override
      public void send(Exchange ex) {
        HttpServerRequest req = ex.request();
        HttpServerResponse out = req.response();
        if (close) {
          out.putHeader(HttpHeaders.CONNECTION, "close"); // no tunnel: nothing else on this connection
        }
        out.setStatusCode(head.status());
        String line = head.startLine();
        int sp = line.indexOf(' ', 9);
        if (sp > 0) {
          out.setStatusMessage(line.substring(sp + 1));
        }
        for (Headers.Field f : head.headers().fields()) {
          if (!HopByHop.hopByHop(f.name())) {
            out.headers().add(f.name(), f.value());
          }
        }
        out.headers().add("Via", ex.via("http/1.1"));
        if (!out.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
          out.headers().set(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length()));
        }
        req.resume();
        var sent = out.end(body);
        if (close) {
          sent.onComplete(v -> req.connection().close());
        }
      }

      @Override
      public void discard() {
      }
    };
  }

  /**
   * A message an ICAP server adapted, its body streaming from {@code body}; {@code abort} stops the transaction;
   * {@code failed} is told when the body breaks off.
   */
  static Answer adapted(HttpHead head, boolean hasBody, ReadStream<Buffer> body, Runnable abort,
      Runnable failed) {
    return new Answer() {
      @Override
      public void send(Exchange ex) {
        HttpServerResponse out = ex.request().response();
        out.setStatusCode(head.status());
        for (Headers.Field f : head.headers().fields()) {
          if (!HopByHop.hopByHop(f.name())) {
            out.headers().add(f.name(), f.value());
          }
        }
        out.headers().add("Via", ex.via("http/1.1"));
        if (!hasBody) {
          out.headers().set(HttpHeaders.CONTENT_LENGTH, "0");
        } else if (!out.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
          unknownLength(ex.request(), out);
        }
        stream(ex, body, abort, failed);
      }

      @Override
      public void discard() {
        abort.run();
      }
    };
  }

  /**
   * A body whose length is not known before it ends: chunked, or to an HTTP/1.0 client (which takes no chunks)
   * ended by the close. Vert.x would keep that connection alive, and the next answer would read as this body.
   */
  private static void unknownLength(HttpServerRequest req, HttpServerResponse out) {
    if (req.version() != HttpVersion.HTTP_1_0) {
      out.setChunked(true);
      return;
    }
    out.headersEndHandler(v -> out.headers().set(HttpHeaders.CONNECTION, "close")); // after Vert.x's keep-alive
    out.bodyEndHandler(v -> req.connection().close());
  }

  /**
   * Relays {@code body} to the user with back-pressure. Not Vert.x's pipe: when the user goes away mid-body, the
   * source's remaining chunks must be dropped and {@code abort} run, not written to a closed response.
   */
  static void stream(Exchange ex, ReadStream<Buffer> body, Runnable abort, Runnable failed) {
    HttpServerRequest req = ex.request();
    HttpServerResponse out = req.response();
    boolean[] gone = {false};
    out.closeHandler(v -> {
      ((DefaultExchange) ex).finished(); // this replaced the exchange's own close handler
      if (!out.ended()) {
        gone[0] = true;
        abort.run();
      }
    });
    body.handler(b -> {
      if (gone[0] || out.ended()) {
        return;
      }
      out.write(b);
      if (out.writeQueueFull()) {
        body.pause();
        out.drainHandler(v -> body.resume());
      }
    });
    body.exceptionHandler(e -> {
      if (!gone[0] && !out.ended()) {
        LOG.debug("relay of {} cut short: {}", Logs.escape(req.uri()), e.toString());
        if (failed != null) {
          failed.run();
        }
        if (!out.headWritten()) {
          // Nothing of the answer went out (its body broke before its first byte): the user gets our 502 page, not
          // a connection closed without a word. The origin's head, set but unsent, is dropped for the page's.
          out.headers().clear();
          out.setChunked(false);
          abort.run();
          Pages.badAnswer(ex, ex.target().origin(), "a body that broke off: " + e.getMessage()).send(ex);
          return;
        }
        req.connection().close();
      }
    });
    body.endHandler(v -> {
      if (!gone[0] && !out.ended()) {
        out.end();
      }
    });
    body.resume();
  }

  /** A message head as ICAP carries it: {@code startLine}, the end-to-end headers, {@code host} (if set) as Host. */
  static HttpHead head(String startLine, MultiMap headers, String host) {
    MultiMap h = MultiMap.caseInsensitiveMultiMap();
    HopByHop.copyHeaders(headers, h);
    if (host != null) {
      h.set(HttpHeaders.HOST, host);
    }
    List<String> nv = new ArrayList<>();
    for (Map.Entry<String, String> e : h) {
      nv.add(e.getKey());
      nv.add(e.getValue());
    }
    return new HttpHead(startLine, Headers.of(nv.toArray(new String[0])));
  }
}
