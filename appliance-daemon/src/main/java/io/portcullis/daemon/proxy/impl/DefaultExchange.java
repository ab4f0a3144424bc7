package io.portcullis.daemon.proxy.impl;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import io.portcullis.daemon.events.TrafficEvent;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.proxy.AccessLog;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeRecord;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.ProxySettings;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An exchange and its walk through the steps: it keeps the request's record, its proxy.requestTimeout timer and
 * what to undo if it is cut short, sends the answer the walk yields, and writes the access-log line and the
 * traffic event once the answer is over.
 */
final class DefaultExchange implements Exchange {
  private static final Logger LOG = LoggerFactory.getLogger(DefaultExchange.class);
  /** The exchange whose request the connection is reading now (a refused body finds it here). */
  static final AttributeKey<DefaultExchange> CURRENT = AttributeKey.valueOf("portcullis.exchange");

  private final Vertx vertx;
  private final HttpServerRequest req;
  private final ProxySettings settings;
  private final ExchangeRecord record;
  private final List<ExchangeStep> steps;
  private final List<Runnable> aborts = new ArrayList<>(2);
  private int position = -1; // the step the request is at
  private Target target;
  private HttpHead head;
  private boolean adapted;
  private Buffer body;
  private long timer = -1;
  private boolean recorded;
  private boolean active; // counted in proxy.maxActiveRequests
  private boolean tunnel; // a CONNECT's 200 went out: recorded when the connection closes

  DefaultExchange(Vertx vertx, HttpServerRequest req, ProxySettings settings, String client,
      List<ExchangeStep> steps) {
    this.vertx = vertx;
    this.req = req;
    this.settings = settings;
    this.record = new ExchangeRecord(client);
    this.steps = steps;
  }

  /**
   * Starts the bookkeeping: the connection points here, the timer runs, the record is written when it ends, and the
   * request counts in proxy.maxActiveRequests if there is room ({@link #admitted}).
   */
  DefaultExchange begin() {
    channel(req).attr(CURRENT).set(this);
    active = settings.connections() == null || settings.connections().beginRequest(settings.proxy().maxActiveRequests());
    long limit = settings.proxy().requestTimeout().toMillis();
    if (limit > 0) {
      timer = vertx.setTimer(limit, t -> expired());
    }
    req.response().endHandler(v -> finished());
    req.response().closeHandler(v -> finished());
    return this;
  }

  /** False when proxy.maxActiveRequests were in progress as this one began: it gets {@link #busy} instead. */
  boolean admitted() {
    return active;
  }

  /**
   * The answer to a request beyond proxy.maxActiveRequests: 503, so that load beyond what the node can hold is
   * refused rather than held. A body it has is not read: the connection closes after the page.
   */
  void busy() {
    LOG.debug("refused {} from {}: proxy.maxActiveRequests in progress", Logs.escape(req.uri()), record.client);
    record.code = "NONE_NONE";
    record.decide("error", "proxy.maxActiveRequests");
    Pages.page(503, "Service unavailable", "The proxy is serving as many requests as it can; try again shortly.",
        Targeting.hasBody(req)).send(this);
  }

  /** Walks the steps and sends the answer they yield, unless the user's answer is over by then. */
  void run() {
    next().onComplete(ar -> {
      if (ar.failed()) {
        LOG.error("the exchange of {} failed", Logs.escape(req.uri()), ar.cause());
        if (!over()) {
          page(500, "Internal error", "The proxy could not complete the request.", true).send(this);
        }
      } else if (over()) {
        ar.result().discard();
      } else {
        ar.result().send(this);
      }
    });
  }

  @Override
  public Future<Answer> next() {
    int caller = position++;
    Future<Answer> answer = steps.get(position).request(this);
    if (caller < 0) {
      return answer;
    }
    ExchangeStep step = steps.get(caller);
    return answer.compose(a -> {
      if (over()) {
        a.discard(); // the user's answer ended while this one came: nothing to pass on
        return Future.succeededFuture(Answer.NONE);
      }
      return step.answer(this, a);
    });
  }

  @Override
  public HttpServerRequest request() {
    return req;
  }

  @Override
  public ProxySettings settings() {
    return settings;
  }

  @Override
  public ExchangeRecord record() {
    return record;
  }

  @Override
  public Target target() {
    return target;
  }

  @Override
  public void target(Target target) {
    this.target = target;
  }

  @Override
  public HttpHead head() {
    return head;
  }

  @Override
  public void head(HttpHead head, boolean adapted) {
    this.head = head;
    this.adapted = this.adapted || adapted;
  }

  @Override
  public boolean adapted() {
    return adapted;
  }

  @Override
  public Buffer body() {
    return body;
  }

  @Override
  public void body(Buffer body) {
    this.body = body;
  }

  @Override
  public Answer page(int status, String title, String detail, boolean close) {
    return Pages.page(status, title, detail, close);
  }

  @Override
  public void onAbort(Runnable abort) {
    aborts.add(abort);
  }

  @Override
  public boolean over() {
    return req.response().ended() || req.response().closed();
  }

  @Override
  public String via(String version) {
    return ("http/1.0".equals(version) ? "1.0 " : "1.1 ") + settings.node() + " (Portcullis)";
  }

  /** The request was refused before it could be read: the record says so, the page says why, the connection closes. */
  void refuse(int status, String title, String detail) {
    record.invalid = true;
    Pages.page(status, title, detail, true).send(this);
  }

  /** The client's body broke its framing: whatever is under way stops; a page if the answer has not begun. */
  void bodyRefused(int status, String reason) {
    LOG.debug("refused the body of {} from {}: {}", Logs.escape(req.uri()), req.remoteAddress(), reason);
    Channel ch = channel(req);
    if (req.isEnded() || over()) {
      ch.close(); // the refused body is a later pipelined request's: nothing to answer it with but the close
      return;
    }
    cut(() -> Pages.page(status, status == 408 ? "Request timeout" : "Bad request",
        "The request was refused: " + reason + ".", true).send(this));
  }

  /** proxy.requestTimeout passed: a 504 page if the answer has not begun, else a close. */
  private void expired() {
    timer = -1;
    if (over()) {
      return;
    }
    LOG.info("{} from {} took longer than proxy.requestTimeout", Logs.escape(req.uri()),
        record.client == null ? "-" : record.client);
    record.code = "TCP_MISS_TIMEDOUT";
    cut(() -> Pages.page(504, "Gateway timeout", "The request took longer than this proxy allows.", true)
        .send(this));
  }

  /** Stops the exchange: the user gets {@code page} (or a close if the answer began), then what runs is undone. */
  private void cut(Runnable page) {
    List<Runnable> undo = List.copyOf(aborts);
    aborts.clear();
    // Before the answer: a late ICAP answer must not start a response this ends.
    undo.stream().filter(r -> r instanceof BeforeAnswer).forEach(Runnable::run);
    if (!req.response().headWritten()) {
      page.run();
    } else {
      req.connection().close();
    }
    // After the answer: a reset's failure must find the response ended, not send a 502.
    undo.stream().filter(r -> !(r instanceof BeforeAnswer)).forEach(Runnable::run);
  }

  /** An abort that must run before the page is sent (it stops something that would write to the user). */
  interface BeforeAnswer extends Runnable {
  }

  /** The answer ended or the user went away: the timer stops, the access-log line and event are written, once. */
  void finished() {
    if (tunnel && channel(req).isActive()) {
      return; // the 200 of a tunnel ended: its line waits for the tunnel's end
    }
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    inactive();
    aborts.clear();
    if (recorded) {
      return;
    }
    recorded = true;
    int status = req.response().getStatusCode();
    String client = record.client;
    long bytes = record.tunnelled >= 0 ? record.tunnelled : req.response().bytesWritten();
    String type = req.response().headers().get(HttpHeaders.CONTENT_TYPE);
    String method = record.invalid ? null : req.method().name();
    // Inside an inspected tunnel the request line has the path only: the URL logged is the whole https one.
    String uri = record.invalid ? null : target != null && "https".equals(target.scheme()) && !target.path().isEmpty()
        ? target.uri() : req.uri();
    AccessLog log = settings.accessLog();
    if (log != null) {
      String code = record.code != null ? record.code : record.invalid ? "NONE_NONE"
          : status == 403 || status == 407 ? "TCP_DENIED" : "TCP_MISS";
      log.add(record.start, System.currentTimeMillis() - record.start, client == null ? "-" : client, code, status,
          bytes, method == null ? "NONE" : method, uri == null ? "error:invalid-request" : uri, record.userName(),
          record.peer, type);
    }
    if (settings.events() != null) {
      String action = record.action != null ? record.action
          : record.invalid || status == 400 || status >= 500 ? "error" : "allow";
      int semi = type == null ? -1 : type.indexOf(';');
      settings.events().publish(new TrafficEvent(Instant.ofEpochMilli(record.start), settings.node(), "proxy",
          client, record.userName(), method, uri, record.host, record.category, record.ruleType, record.rule, action,
          record.threat, type == null ? null : (semi < 0 ? type : type.substring(0, semi)).strip(), record.fileType,
          status, record.invalid ? -1 : req.bytesRead(), bytes, record.icapNanos / 1000,
          record.upstreamNanos < 0 ? -1 : record.upstreamNanos / 1000,
          (System.nanoTime() - record.startNanos) / 1000, record.tls, record.sni,
          record.user == null ? null : TrafficEvent.groups(record.user.groups())));
    }
  }

  /** A tunnel opened: it lives until idle, proxy.requestTimeout does not cut it; its record waits for its close. */
  void tunnelled() {
    tunnel = true;
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    inactive(); // an open tunnel is bounded by proxy.maxConnections and its idle timeout, not by this
  }

  /** Leaves the count of requests in progress, once. */
  private void inactive() {
    if (active && settings.connections() != null) {
      settings.connections().endRequest();
    }
    active = false;
  }

  static Channel channel(HttpServerRequest req) {
    return ((io.vertx.core.net.impl.ConnectionBase) req.connection()).channel();
  }
}
