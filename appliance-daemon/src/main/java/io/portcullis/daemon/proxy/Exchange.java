package io.portcullis.daemon.proxy;

import io.portcullis.daemon.icap.codec.HttpHead;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;

/**
 * One request's life in the proxy, from the user's request to the answer the user gets: the steps of the
 * pipeline ({@link ExchangeStep}) see it in order on the way out and in reverse on the way back. A plain request
 * and, later, a request decrypted inside an inspected tunnel are both exchanges; only their {@link Target} differs.
 */
public interface Exchange {
  /** The user's request as it arrived. */
  HttpServerRequest request();

  /** The settings in effect when the request arrived (a commit applies to the next request). */
  ProxySettings settings();

  /** What the access log and the traffic event will say about this exchange. */
  ExchangeRecord record();

  /** Where the request goes; null until the request target is read. */
  Target target();

  /** Sets where the request goes (read from the request line, or changed by REQMOD). */
  void target(Target target);

  /** The request as the origin will get it (absolute URI, end-to-end headers); null until read. */
  HttpHead head();

  /** Replaces the request sent to the origin; {@code adapted}: REQMOD made it, its headers replace the user's. */
  void head(HttpHead head, boolean adapted);

  /** True when REQMOD replaced the request's line and headers. */
  boolean adapted();

  /** The body that replaces the user's (REQMOD sent one back), or null: the user's body is streamed. */
  Buffer body();

  /** Replaces the body sent to the origin. */
  void body(Buffer body);

  /** Passes the request to the next step; the answer comes back through this step's {@link ExchangeStep#answer}. */
  Future<Answer> next();

  /** Our error page, to be sent as the answer; {@code close}: the connection closes after it. */
  Answer page(int status, String title, String detail, boolean close);

  /** Runs {@code abort} if the exchange is cut short (proxy.requestTimeout, a refused body) before it ends. */
  void onAbort(Runnable abort);

  /** True once the user's answer is over (sent, timed out, or the user went away): late work must not touch it. */
  boolean over();

  /** The {@code Via} value for a message of HTTP {@code version} ({@code http/1.0} or {@code http/1.1}). */
  String via(String version);
}
