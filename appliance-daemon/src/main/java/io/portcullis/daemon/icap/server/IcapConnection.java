package io.portcullis.daemon.icap.server;

import io.netty.buffer.Unpooled;
import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.config.AccessRule;
import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.RequestFacts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICAP client connection: decodes its messages in order and answers each. Runs on the connection's event loop;
 * never blocks. Answers: OPTIONS; REQMOD by the access rules (block page, redirect, or pass); RESPMOD passes. A pass is
 * 204 when allowed (in a preview, or with {@code Allow: 204}), else a 200 echoing the message, streamed with
 * back-pressure.
 */
final class IcapConnection {
  private static final Logger LOG = LoggerFactory.getLogger(IcapConnection.class);
  private static final Logger EVENTS = LoggerFactory.getLogger("portcullis.events.icap");
  private static final BlockPage BLOCK_PAGE = BlockPage.defaultPage();
  private static final String SERVER = "Portcullis/" + Daemon.version();

  private enum Service { REQMOD, RESPMOD }

  /** What the current message is waiting for. */
  private enum Plan {
    OPTIONS,  // answer at End
    ANSWERED, // a final answer went out at the head: drop the body
    WAIT_204, // answer 204 at the preview's end or at End
    ECHO      // 200 with the message, body streamed as it comes
  }

  private final NetSocket socket;
  private final Supplier<IcapSettings> settings;
  private final IcapMetrics metrics;
  private IcapDecoder decoder;
  private boolean closed;

  // The transaction in progress.
  private IcapRequest request;
  private IcapSettings txSettings;
  private Plan plan;
  private Service service;
  private long started;
  private long bodyBytes;
  private int status;
  private Decision decision;
  private String clientIp;
  private String user;
  private boolean answerStarted;

  private final Runnable onClose;

  IcapConnection(NetSocket socket, Supplier<IcapSettings> settings, IcapMetrics metrics, Runnable onClose) {
    this.onClose = onClose;
    this.socket = socket;
    this.settings = settings;
    this.metrics = metrics;
  }

  void start() {
    decoder = new IcapDecoder(IcapDecoder.Mode.REQUEST, settings.get().limits());
    socket.handler(this::onData);
    socket.closeHandler(v -> {
      closed = true;
      onClose.run();
    });
    socket.exceptionHandler(e -> LOG.debug("icap connection {}: {}", socket.remoteAddress(), e.toString()));
  }

  private void onData(Buffer buffer) {
    if (closed) {
      return;
    }
    try {
      ByteBuffer in = ((BufferInternal) buffer).getByteBuf().nioBuffer();
      handle(decoder.feed(in));
    } catch (RuntimeException e) {
      // A bug must cost one connection, never the server.
      LOG.error("icap connection {}: internal error, closing", socket.remoteAddress(), e);
      closed = true;
      socket.close();
    }
  }

  private void handle(List<IcapDecoder.Event> events) {
    for (IcapDecoder.Event e : events) {
      if (closed) {
        return;
      }
      if (e instanceof IcapDecoder.Body b) {
        onBody(b.data());
      } else if (e instanceof IcapDecoder.Head h) {
        onHead((IcapRequest) h.message());
      } else if (e instanceof IcapDecoder.End) {
        onEnd();
      } else if (e instanceof IcapDecoder.PreviewEnd) {
        onPreviewEnd();
        return; // the decoder stopped; what follows came from skipBody/continueBody inside onPreviewEnd
      } else if (e instanceof IcapDecoder.Error err) {
        onError(err.reason());
        return;
      }
    }
  }

  private void onHead(IcapRequest r) {
    request = r;
    txSettings = settings.get();
    started = System.nanoTime();
    bodyBytes = 0;
    status = 0;
    decision = null;
    answerStarted = false;
    identify(r, txSettings.icap().identity());
    String path = r.servicePath();
    service = switch (path) {
      case "/av/reqmod", "/reqmod" -> Service.REQMOD;
      case "/av/respmod", "/respmod" -> Service.RESPMOD;
      default -> null;
    };
    if (service == null) {
      answerStatus(404, "Service Not Found");
      return;
    }
    if (r.method().equals("OPTIONS")) {
      plan = Plan.OPTIONS;
      return;
    }
    if (!r.method().equals(service.name())) {
      answerStatus(405, "Method Not Allowed");
      return;
    }
    if (service == Service.REQMOD) {
      HttpHead http = r.httpRequest();
      decision = txSettings.rules().decide(new RequestFacts(http.method(), http.url(), http.host(), clientIp, user));
      if (decision.action() == AccessRule.Action.BLOCK) {
        answerBlockPage(http);
        return;
      }
      if (decision.action() == AccessRule.Action.REDIRECT) {
        answerRedirect(decision.location());
        return;
      }
    } else {
      decision = Decision.DEFAULT_ALLOW;
    }
    pass(r);
  }

  private void identify(IcapRequest r, IcapConfig.IcapIdentity identity) {
    clientIp = r.headers().get(identity.clientIpHeader());
    user = null;
    for (String h : identity.userHeaders()) {
      String v = r.headers().get(h);
      if (v != null && !v.isEmpty()) {
        user = identity.base64Users() ? decodeBase64(v) : v;
        break;
      }
    }
  }

  private static String decodeBase64(String v) {
    try {
      return new String(Base64.getDecoder().decode(v.strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return v;
    }
  }

  /** The message passes unchanged: 204 when allowed, else a 200 echo. */
  private void pass(IcapRequest r) {
    boolean allow204 = r.headers().hasToken("Allow", "204");
    if (r.hasPreview() || (allow204 && r.body().hasBody())) {
      plan = Plan.WAIT_204; // 204 is always allowed after a preview (RFC 3507 4.5)
      return;
    }
    if (allow204) {
      answer204();
      plan = Plan.ANSWERED;
      return;
    }
    plan = Plan.ECHO;
    IcapResponse echo = service == Service.REQMOD
        ? new IcapResponse(200, "OK", common(), r.httpRequest(), null, r.body().hasBody() ? BodyKind.REQ_BODY
            : BodyKind.NULL_BODY)
        : new IcapResponse(200, "OK", common(), null, r.httpResponse(), r.body().hasBody() ? BodyKind.RES_BODY
            : BodyKind.NULL_BODY);
    status = 200;
    write(IcapEncoder.encode(echo));
  }

  private void onBody(ByteBuffer data) {
    bodyBytes += data.remaining();
    if (plan == Plan.ECHO) {
      int n = data.remaining();
      write(IcapEncoder.chunkHeader(n));
      // The decoder's view points into this connection's own input buffer, which nothing reuses: no copy.
      socket.write(BufferInternal.buffer(Unpooled.wrappedBuffer(data)));
      write(IcapEncoder.CRLF);
      if (socket.writeQueueFull()) {
        socket.pause();
        socket.drainHandler(v -> socket.resume());
      }
    }
  }

  private void onEnd() {
    switch (plan) {
      case OPTIONS -> answerOptions();
      case WAIT_204 -> answer204();
      case ECHO -> {
        if (request.body().hasBody()) {
          write(IcapEncoder.LAST_CHUNK);
        }
      }
      default -> {
      }
    }
    finish();
  }

  private void onPreviewEnd() {
    if (plan == Plan.WAIT_204 || plan == Plan.OPTIONS) {
      if (plan == Plan.OPTIONS) {
        answerOptions();
      } else {
        answer204();
      }
      finish();
      handle(decoder.skipBody());
    } else if (plan == Plan.ANSWERED) {
      finish();
      handle(decoder.skipBody());
    } else {
      // Not reached: an echo is never planned for a preview. Ask for the rest rather than stall the client.
      write("ICAP/1.0 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      handle(decoder.continueBody());
    }
  }

  private void onError(String reason) {
    metrics.badRequest();
    LOG.debug("icap connection {}: bad request: {}", socket.remoteAddress(), reason);
    if (request != null && plan != null && answerStarted && !decoder.idle()) {
      closed = true; // mid-answer: a 400 can no longer be framed; the client sees the close
      socket.close();
      return;
    }
    IcapSettings s = settings.get();
    closed = true;
    byte[] answer = ("ICAP/1.0 400 Bad Request\r\nServer: " + SERVER + "\r\nISTag: " + s.istag()
        + "\r\nConnection: close\r\nEncapsulated: null-body=0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    socket.write(Buffer.buffer(answer)).onComplete(x -> socket.close());
    EVENTS.info("icap client={} status=400 reason=\"{}\"", socket.remoteAddress(), reason.replace('"', '\''));
  }

  // ---- answers --------------------------------------------------------------------------------------------------------

  private Headers common() {
    return Headers.of("ISTag", txSettings.istag(), "Server", SERVER);
  }

  private void answer204() {
    status = 204;
    write(IcapEncoder.encode(new IcapResponse(204, "No Content", common(), null, null, BodyKind.NULL_BODY)));
  }

  private void answerStatus(int code, String reason) {
    plan = Plan.ANSWERED;
    status = code;
    write(IcapEncoder.encode(new IcapResponse(code, reason, common(), null, null, BodyKind.NULL_BODY)));
  }

  private void answerOptions() {
    IcapConfig c = txSettings.icap();
    String methods = service.name();
    Headers h = Headers.of(
        "Methods", methods,
        "Service", "Portcullis " + Daemon.version() + " " + (service == Service.REQMOD ? "access rules" : "response")
            + " service",
        "ServiceId", "portcullis-" + methods.toLowerCase(),
        "ISTag", txSettings.istag(),
        "Max-Connections", Integer.toString(c.maxConnections()),
        "Options-TTL", Long.toString(c.optionsTtl().toSeconds()),
        "Allow", "204",
        "Preview", Integer.toString(c.preview()),
        "Transfer-Preview", "*",
        "X-Include", String.join(", ", identityHeaders(c.identity())),
        "Date", DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().atOffset(ZoneOffset.UTC)),
        "Server", SERVER);
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", h, null, null, BodyKind.NULL_BODY)));
  }

  private static List<String> identityHeaders(IcapConfig.IcapIdentity identity) {
    java.util.ArrayList<String> names = new java.util.ArrayList<>();
    names.add(identity.clientIpHeader());
    names.addAll(identity.userHeaders());
    return names;
  }

  private void answerBlockPage(HttpHead http) {
    plan = Plan.ANSWERED;
    String page = BLOCK_PAGE.render(Map.of(
        "url", http.url(),
        "rule", decision.rule(),
        "host", http.host(),
        "client", clientIp == null ? "" : clientIp,
        "user", user == null ? "" : user,
        "node", txSettings.node(),
        "time", Instant.now().toString()));
    byte[] body = page.getBytes(StandardCharsets.UTF_8);
    HttpHead res = HttpHead.response(403, "Forbidden", Headers.of(
        "Content-Type", "text/html; charset=utf-8",
        "Content-Length", Integer.toString(body.length),
        "Cache-Control", "no-store",
        "X-Portcullis-Rule", headerSafe(decision.rule())));
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.RES_BODY)));
    write(IcapEncoder.chunk(body));
    write(IcapEncoder.LAST_CHUNK);
  }

  private void answerRedirect(String location) {
    plan = Plan.ANSWERED;
    HttpHead res = HttpHead.response(302, "Found", Headers.of(
        "Location", location,
        "Content-Length", "0",
        "Cache-Control", "no-store",
        "X-Portcullis-Rule", headerSafe(decision.rule())));
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.NULL_BODY)));
  }

  private static String headerSafe(String s) {
    return s.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private void write(byte[] bytes) {
    answerStarted = true;
    socket.write(Buffer.buffer(bytes));
  }

  /** The request is consumed and its answer written: log the event, count it, get ready for the next. */
  private void finish() {
    long nanos = System.nanoTime() - started;
    String method = request.method();
    String decisionName = decision == null ? (status >= 400 ? "error" : "none") : decision.actionName();
    metrics.transaction(method, decisionName, status, nanos);
    if (EVENTS.isInfoEnabled()) {
      HttpHead http = request.httpRequest();
      EVENTS.info("icap client={} user={} method={} service={} url={} decision={} rule={} status={} bodyBytes={} "
              + "durationMs={}", clientIp == null ? "-" : clientIp, user == null ? "-" : user, method,
          request.servicePath(), http == null ? "-" : http.url(), decisionName,
          decision == null || decision.rule() == null ? "-" : decision.rule(), status, bodyBytes,
          String.format("%.3f", nanos / 1e6));
    }
    request = null;
    plan = null;
  }
}
