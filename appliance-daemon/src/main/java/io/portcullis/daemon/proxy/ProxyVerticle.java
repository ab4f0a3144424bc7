package io.portcullis.daemon.proxy;

import io.portcullis.daemon.icap.codec.DecisionHeaders;
import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.icap.client.IcapClient;
import io.portcullis.daemon.icap.client.IcapConnectionPool;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.pages.ErrorPage;
import io.vertx.core.buffer.Buffer;
import io.portcullis.daemon.rules.CidrMatcher;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forward proxy (RFC 9110/9112): absolute-form {@code http://} requests relayed to the origin over pooled
 * keep-alive connections, bodies streamed with back-pressure both ways, hop-by-hop headers stripped, {@code Via}
 * added; CONNECT tunnels to {@code proxy.connectPorts} only; clients outside {@code proxy.allowedClients} get 403.
 * The ICAP client (REQMOD/RESPMOD through the rules) is not in this build yet: traffic passes unscanned.
 */
public final class ProxyVerticle extends ServiceVerticle<ProxySettings> {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyVerticle.class);
  static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection", "te",
      "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate");
  private HttpClientAgent client;
  private NetClient tunnels;
  private IcapClient icap;

  public ProxyVerticle(ProxySettings initial) {
    super(initial);
  }

  @Override
  protected HostPort address(ProxySettings settings) {
    return settings.proxy().listen();
  }

  @Override
  public Future<?> start() {
    ProxyConfig s = settings().proxy();
    icap = new IcapClient(vertx, new IcapConnectionPool(vertx.createNetClient(new NetClientOptions()
        .setConnectTimeout((int) s.connectTimeout().toMillis()).setTcpNoDelay(true)), s.icap().maxConnections()),
        s.icap().timeout());
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setTcpNoDelay(true)
            .setConnectTimeout((int) s.connectTimeout().toMillis()).setDecompressionSupported(false)
            .setMaxInitialLineLength(65536).setMaxHeaderSize(65536),
        new PoolOptions().setHttp1MaxSize(s.maxConnectionsPerOrigin()).setMaxWaitQueueSize(s.maxWaitQueue()));
    tunnels = vertx.createNetClient(new NetClientOptions().setConnectTimeout((int) s.connectTimeout().toMillis())
        .setTcpNoDelay(true));
    return super.start();
  }

  @Override
  protected Future<Listener> bind(HostPort address, ProxySettings next) {
    ProxyConfig s = next.proxy();
    RequestFraming.Limits limits = new RequestFraming.Limits(s.maxRequestLine(), s.maxHeaderBytes(), s.maxHeaders());
    return vertx.createHttpServer(new HttpServerOptions().setHost(address.host()).setPort(address.port())
            .setTcpNoDelay(true).setHandle100ContinueAutomatically(true).setDecompressionSupported(false)
            .setHttp2ClearTextEnabled(false)
            // The guard enforces our limits first, with our pages; the decoder's own are only a backstop.
            .setMaxInitialLineLength(s.maxRequestLine() * 2 + 64).setMaxHeaderSize(s.maxHeaderBytes() * 2 + 64)
            .setIdleTimeout((int) s.idleTimeout().toSeconds()))
        .connectionHandler(conn -> {
          if (admit(conn)) {
            // The settings in effect now, not those the listener was bound with: a commit applies to new
            // connections at once.
            ProxyConfig live = settings().proxy();
            guard(conn, new RequestFraming.Limits(live.maxRequestLine(), live.maxHeaderBytes(), live.maxHeaders()),
                live);
          }
        })
        .invalidRequestHandler(this::invalid)
        .requestHandler(this::handle)
        .listen()
        .map(Listener::of);
  }

  /**
   * Counts the connection against proxy.maxConnections and proxy.maxConnectionsPerClient; over a limit it gets a 503
   * and a close before anything is read (false).
   */
  private boolean admit(io.vertx.core.http.HttpConnection conn) {
    ProxySettings s = settings();
    String client = conn.remoteAddress() == null ? "-" : conn.remoteAddress().hostAddress();
    byte[] address = CidrMatcher.literal(client);
    boolean unlimited = CidrMatcher.anyMatches(s.unlimitedClients(), address);
    String over = s.connections().open(client, s.proxy().maxConnections(),
        unlimited ? Integer.MAX_VALUE : s.proxy().maxConnectionsPerClient());
    io.netty.channel.Channel ch = ((io.vertx.core.net.impl.ConnectionBase) conn).channel();
    if (over != null) {
      LOG.debug("refused a connection from {}: {}", client, over);
      LingeringClose.discardInput(ch); // nothing of it is decoded, let alone proxied
      byte[] page = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
          + "Content-Length: " + (over.length() + 24) + "\r\n\r\ntoo many connections (" + over + ")\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      // From the head of the pipeline: raw bytes, past the HTTP encoder (which takes only HTTP objects).
      ch.pipeline().firstContext().writeAndFlush(io.netty.buffer.Unpooled.wrappedBuffer(page))
          .addListener(f -> LingeringClose.close(ch));
      return false;
    }
    // The channel's own close, once, whatever the connection becomes (a CONNECT tunnel, say).
    ch.closeFuture().addListener(f -> s.connections().close(client));
    return true;
  }

  /** Puts a {@link RequestGuard} in front of the connection's HTTP decoder. */
  private void guard(io.vertx.core.http.HttpConnection conn, RequestFraming.Limits limits, ProxyConfig s) {
    io.netty.channel.Channel ch = ((io.vertx.core.net.impl.ConnectionBase) conn).channel();
    if (!RequestGuard.install(conn, limits, s.headerTimeout(), s.bodyTimeout(), s.minBodyRate(),
        r -> bodyRefused(ch, r))) {
      LOG.error("no HTTP/1.1 decoder on a proxy connection from {}: closed it", conn.remoteAddress());
    }
  }

  /** A request the guard or the decoder refused: our page with the status and reason, then close. */
  private void invalid(HttpServerRequest req) {
    if (channel(req).attr(CLOSING).get() != null) {
      return; // behind an error answer that closes: the connection is going
    }
    begin(req, settings()).invalid = true;
    RequestGuard.Refusal r = RequestGuard.refusal(req.connection());
    int status;
    String reason;
    if (r != null) {
      status = r.status();
      reason = r.reason();
    } else {
      Throwable cause = req.decoderResult().cause();
      status = cause instanceof io.netty.handler.codec.TooLongFrameException ? 431 : 400;
      reason = cause == null ? "malformed request" : cause.getMessage();
    }
    LOG.debug("refused a request from {}: {} {}", req.remoteAddress(), status, reason);
    String title = switch (status) {
      case 408 -> "Request timeout";
      case 414 -> "URI too long";
      case 431 -> "Request header fields too large";
      case 505 -> "HTTP version not supported";
      default -> "Bad request";
    };
    error(req, status, title, "The request was refused: " + reason + ".", true);
  }

  private static final java.util.regex.Pattern THREAT = java.util.regex.Pattern.compile("Threat=([^;]*)");

  /** The request whose body the client is sending, and the origin request it feeds, if one was opened. */
  private static final class InFlight {
    final HttpServerRequest req;
    final long start = System.currentTimeMillis();
    final long startNanos = System.nanoTime();
    HttpClientRequest up;
    BasicAuth.User user;
    String code;        // Squid's result code for the access log, when not derived from the status
    String peer;        // the origin contacted, if any
    long tunnelled = -1; // bytes sent to the client through a CONNECT tunnel
    boolean invalid;    // refused before it could be read as a request
    boolean logged;
    long timer = -1;    // proxy.requestTimeout, until the answer ends or a tunnel opens
    Respmod respmod;    // the RESPMOD under way, if any
    String host;        // the origin's host, once the request could be read
    long icapNanos;     // time spent waiting for ICAP answers
    long upstreamNanos = -1; // from asking the origin to its answer's head
    String client;      // the client's address as taken (proxy.followXForwardedFor), null if unknown
    // The decision, for the traffic event: from the ICAP answers, or from the proxy's own checks.
    String action;
    String ruleType;
    String rule;
    String category;
    String threat;
    String fileType;

    /** The proxy's own decision (its checks of clients, ports, authentication, ICAP failures). */
    void decide(String action, String rule) {
      this.action = action;
      this.ruleType = "policy";
      this.rule = rule;
    }

    /**
     * What an ICAP answer says about the decision: our ICAP server's X-Portcullis-* headers, else X-Infection-Found
     * (c-icap's), else the answer's kind. A later answer (RESPMOD) wins over an earlier one (REQMOD) unless it only
     * allows what an earlier rule already named.
     */
    void icapAnswered(IcapResponse r, int originStatus) {
      Headers h = r.headers();
      String a = h.get(DecisionHeaders.ACTION);
      if (a == null) {
        // Another ICAP server (c-icap): a REQMOD answered with a response, a RESPMOD that changed the status, or
        // an infection found, is its decision; a RESPMOD echoing the origin's answer allows it.
        int st = r.status() == 200 && r.httpResponse() != null ? r.httpResponse().status() : -1;
        a = h.get(DecisionHeaders.INFECTION_FOUND) != null ? "block" : st < 0 || st == originStatus ? "allow"
            : st >= 300 && st < 400 ? "redirect" : "block";
      }
      String rt = h.get(DecisionHeaders.RULE_TYPE);
      if (!a.equals("allow") || action == null || rule == null && rt != null && !rt.equals("none")) {
        action = a;
        ruleType = rt == null || rt.equals("none") ? null : rt;
        rule = h.get(DecisionHeaders.RULE);
        String c = h.get(DecisionHeaders.CATEGORY);
        category = c != null ? c : category;
        threat = h.get(DecisionHeaders.THREAT);
        String infection = h.get(DecisionHeaders.INFECTION_FOUND);
        if (threat == null && infection != null) {
          java.util.regex.Matcher m = THREAT.matcher(infection);
          threat = m.find() ? m.group(1).strip() : infection;
        }
      }
      String ft = h.get(DecisionHeaders.FILE_TYPE);
      fileType = ft != null ? ft : fileType;
    }

    InFlight(HttpServerRequest req) {
      this.req = req;
    }
  }

  /** Starts a request's bookkeeping: the in-flight record and, with an access log, its line when the answer ends. */
  private InFlight begin(HttpServerRequest req, ProxySettings settings) {
    InFlight f = new InFlight(req);
    f.client = clientAddress(req, settings);
    channel(req).attr(IN_FLIGHT).set(f);
    AccessLog log = settings.accessLog();
    long limit = settings.proxy().requestTimeout().toMillis();
    if (limit > 0) {
      f.timer = vertx.setTimer(limit, t -> expired(f));
    }
    req.response().endHandler(v -> finished(f, log));
    req.response().closeHandler(v -> finished(f, log));
    return f;
  }

  /** The answer ended or the user went away: the request's timer stops, its access-log line and event are written. */
  private void finished(InFlight f, AccessLog log) {
    stopTimer(f);
    record(f, log);
  }

  private void stopTimer(InFlight f) {
    if (f.timer >= 0) {
      vertx.cancelTimer(f.timer);
      f.timer = -1;
    }
  }

  /** proxy.requestTimeout passed: whatever is under way stops; a 504 page if the answer has not begun, else a close. */
  private void expired(InFlight f) {
    f.timer = -1;
    HttpServerRequest req = f.req;
    if (req.response().ended() || req.response().closed()) {
      return;
    }
    LOG.info("{} from {} took longer than proxy.requestTimeout", io.portcullis.daemon.logging.Logs.escape(req.uri()), f.client == null ? "-" : f.client);
    f.code = "TCP_MISS_TIMEDOUT";
    if (f.respmod != null) {
      f.respmod.abandon();
    }
    if (!req.response().headWritten()) {
      error(req, 504, "Gateway timeout", "The request took longer than this proxy allows.", true);
    } else {
      req.connection().close();
    }
    if (f.up != null) {
      f.up.reset(); // after the answer: the reset's failure must find the response ended, not send a 502
    }
  }

  /** True when the user's answer is over (sent, timed out, or the user went away): late work must not touch it. */
  private static boolean over(HttpServerRequest req) {
    return req.response().ended() || req.response().closed();
  }

  /** Once per request: its access-log line (if there is an access log) and its traffic event. */
  private void record(InFlight f, AccessLog log) {
    if (f.logged) {
      return;
    }
    f.logged = true;
    HttpServerRequest req = f.req;
    int status = req.response().getStatusCode();
    String client = f.client;
    long bytes = f.tunnelled >= 0 ? f.tunnelled : req.response().bytesWritten();
    String type = req.response().headers().get(HttpHeaders.CONTENT_TYPE);
    if (log != null) {
      String code = f.code != null ? f.code : f.invalid ? "NONE_NONE"
          : status == 403 || status == 407 ? "TCP_DENIED" : "TCP_MISS";
      log.add(f.start, System.currentTimeMillis() - f.start, client == null ? "-" : client, code, status, bytes,
          f.invalid ? "NONE" : req.method().name(), f.invalid ? "error:invalid-request" : req.uri(),
          f.user == null ? null : f.user.name(), f.peer, type);
    }
    ProxySettings s = settings();
    if (s.events() != null) {
      String action = f.action != null ? f.action : f.invalid || status == 400 || status >= 500 ? "error" : "allow";
      int semi = type == null ? -1 : type.indexOf(';');
      s.events().publish(new io.portcullis.daemon.events.TrafficEvent(java.time.Instant.ofEpochMilli(f.start),
          s.node(), "proxy", client, f.user == null ? null : f.user.name(), f.invalid ? null : req.method().name(),
          f.invalid ? null : req.uri(), f.host, f.category, f.ruleType, f.rule, action, f.threat,
          type == null ? null : (semi < 0 ? type : type.substring(0, semi)).strip(), f.fileType, status,
          f.invalid ? -1 : req.bytesRead(), bytes, f.icapNanos / 1000,
          f.upstreamNanos < 0 ? -1 : f.upstreamNanos / 1000, (System.nanoTime() - f.startNanos) / 1000));
    }
  }

  /** The user went away before the answer ended: its access-log line now (this replaced begin's close handler). */
  private void cutShort(HttpServerRequest req) {
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    if (f != null && f.req == req) {
      finished(f, settings().accessLog());
    }
  }

  private static BasicAuth.User user(HttpServerRequest req) {
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    return f == null || f.req != req ? null : f.user;
  }

  private static String userName(HttpServerRequest req) {
    BasicAuth.User u = user(req);
    return u == null ? null : u.name();
  }

  private static List<String> groups(HttpServerRequest req) {
    BasicAuth.User u = user(req);
    return u == null ? List.of() : u.groups();
  }

  private static final io.netty.util.AttributeKey<InFlight> IN_FLIGHT =
      io.netty.util.AttributeKey.valueOf("portcullis.inFlight");
  /** Set once an error answer closes the connection: a request Vert.x decoded behind it must not be served. */
  private static final io.netty.util.AttributeKey<Boolean> CLOSING =
      io.netty.util.AttributeKey.valueOf("portcullis.closing");

  private static io.netty.channel.Channel channel(HttpServerRequest req) {
    return ((io.vertx.core.net.impl.ConnectionBase) req.connection()).channel();
  }

  /** The client's body broke its framing: the origin request is reset, the client gets a 400 (or a close). */
  private void bodyRefused(io.netty.channel.Channel ch, RequestGuard.Refusal r) {
    InFlight f = ch.attr(IN_FLIGHT).get();
    if (f == null) {
      ch.close();
      return;
    }
    LOG.debug("refused the body of {} from {}: {}", io.portcullis.daemon.logging.Logs.escape(f.req.uri()), f.req.remoteAddress(), r.reason());
    if (f.req.isEnded() || over(f.req)) {
      ch.close(); // the refused body is a later pipelined request's: nothing to answer it with but the close
      return;
    }
    if (f.respmod != null) {
      f.respmod.abandon(); // a late ICAP answer must not start a response this ends
    }
    if (!f.req.response().headWritten()) {
      error(f.req, r.status(), r.status() == 408 ? "Request timeout" : "Bad request", "The request was refused: "
          + r.reason() + ".", true);
    } else {
      f.req.connection().close();
    }
    if (f.up != null) {
      f.up.reset(); // after the answer: the reset's failure must find the response under way, not send a 502
    }
  }

  private void handle(HttpServerRequest req) {
    if (channel(req).attr(CLOSING).get() != null) {
      return; // pipelined behind an error answer that closes: never served, the connection is going
    }
    ProxySettings settings = settings();
    ProxyConfig s = settings.proxy();
    InFlight f = begin(req, settings);
    if (!allowed(f.client, settings)) {
      f.decide("block", "proxy.allowedClients");
      error(req, 403, "Access denied", "This proxy does not serve your network.", true);
      return;
    }
    BasicAuth auth = settings.auth();
    if (auth == null) {
      serve(req, settings);
      return;
    }
    String credentials = req.getHeader("Proxy-Authorization");
    BasicAuth.User known = auth.remembered(credentials);
    if (known != null) {
      f.user = known;
      serve(req, settings);
      return;
    }
    if (credentials == null) {
      f.decide("block", "proxy.auth");
      challenge(req, auth, false);
      return;
    }
    String from = f.client == null ? "-" : f.client;
    long locked = settings.logins().lockedFor(from);
    if (locked > 0) {
      f.decide("block", "proxy.auth.lockout");
      req.response().putHeader("Retry-After", Long.toString(locked));
      error(req, 429, "Too many failed logins", "Too many wrong passwords came from your address: try again in "
          + locked + " seconds.", hasBody(req) || req.method() == HttpMethod.CONNECT);
      return;
    }
    if (auth.knownWrong(credentials)) {
      f.decide("block", "proxy.auth"); // the same wrong password again (a page's every resource): no new failure
      challenge(req, auth, true);
      return;
    }
    req.pause();
    // Checking a crypt hash takes milliseconds of CPU by design: a worker thread, not this event loop.
    vertx.executeBlocking(() -> auth.check(credentials), false).onComplete(ar -> {
      if (over(req)) {
        return;
      }
      if (ar.succeeded() && ar.result() != null) {
        f.user = ar.result();
        serve(req, settings);
      } else {
        if (settings.logins().failed(from, s.auth().lockout())) {
          LOG.warn("proxy authentication: {} locked out for {} after {} failed logins", from,
              s.auth().lockout().duration(), s.auth().lockout().maxFailures());
        }
        f.decide("block", "proxy.auth");
        challenge(req, auth, true);
      }
    });
  }

  /** 407 with our page and the Basic challenge; the connection stays open unless a body would have to be read. */
  private void challenge(HttpServerRequest req, BasicAuth auth, boolean wrong) {
    req.response().putHeader("Proxy-Authenticate", auth.challenge());
    error(req, 407, "Proxy authentication required", wrong ? "The user name or password is not right."
        : "This proxy needs your user name and password.", hasBody(req) || req.method() == HttpMethod.CONNECT);
  }

  private void serve(HttpServerRequest req, ProxySettings settings) {
    ProxyConfig s = settings.proxy();
    if (req.method() == HttpMethod.CONNECT) {
      tunnel(req, settings);
      return;
    }
    String uri = req.uri();
    if (!uri.regionMatches(true, 0, "http://", 0, 7)) {
      error(req, 400, "Bad request", uri.regionMatches(true, 0, "https://", 0, 8)
          ? "https:// URLs go through CONNECT." : "This is a proxy: the request line needs an absolute http:// URL.",
          true);
      return;
    }
    int slash = uri.indexOf('/', 7);
    String authority = slash < 0 ? uri.substring(7) : uri.substring(7, slash);
    String path = slash < 0 ? "/" : uri.substring(slash);
    HostPort target = origin(authority, 80);
    InFlight inFlight = channel(req).attr(IN_FLIGHT).get();
    if (inFlight != null && inFlight.req == req && target != null) {
      inFlight.host = target.host();
    }
    if (target == null) {
      error(req, 400, "Bad request", "The URL has no valid host.", true);
      return;
    }
    req.pause();
    HttpHead head = requestHead(req, uri, authority);
    if (settings.reqmod().isEmpty()) {
      forward(req, settings, target, authority, path, head, null, null);
      return;
    }
    reqmod(req, settings, head).onComplete(ar -> {
      if (over(req)) {
        return; // timed out or gone while ICAP answered
      }
      if (ar.failed()) {
        icapFailed(req, settings, ar.cause(), () -> forward(req, settings, target, authority, path, head, null, null));
        return;
      }
      IcapClient.Answer a = ar.result();
      IcapResponse r = a == null ? null : a.head();
      if (r == null || r.status() == 204) {
        forward(req, settings, target, authority, path, head, null, null);
      } else if (r.status() == 200 && r.httpResponse() != null) {
        respond(req, r.httpResponse(), a.body()); // the ICAP server answered for the origin: block page, redirect
      } else if (r.status() == 200 && r.httpRequest() != null) {
        HttpHead changed = r.httpRequest();
        forward(req, settings, target, authority, path, changed, r.body().hasBody() ? a.body() : null, changed);
      } else {
        icapFailed(req, settings, new IllegalStateException("ICAP answered " + r.status() + " " + r.reason()),
            () -> forward(req, settings, target, authority, path, head, null, null));
      }
    });
  }

  /** The request as the origin would get it, for REQMOD: absolute URI, end-to-end headers. */
  private static HttpHead requestHead(HttpServerRequest req, String uri, String authority) {
    io.vertx.core.MultiMap h = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    copyHeaders(req.headers(), h);
    h.set(HttpHeaders.HOST, authority);
    List<String> nv = new ArrayList<>();
    for (Map.Entry<String, String> e : h) {
      nv.add(e.getKey());
      nv.add(e.getValue());
    }
    return new HttpHead(req.method().name() + " " + uri + " HTTP/1.1", Headers.of(nv.toArray(new String[0])));
  }

  private static boolean hasBody(HttpServerRequest req) {
    return req.headers().contains(HttpHeaders.CONTENT_LENGTH) && !"0".equals(req.headers().get(
        HttpHeaders.CONTENT_LENGTH)) || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
  }

  /**
   * REQMOD: without a body, a plain exchange offering 204; with one, a zero-byte preview (the body stays with the
   * client until the ICAP server asks for it, then goes whole, up to {@code maxBufferedBody}). Null: nothing to ask.
   */
  private Future<IcapClient.Answer> reqmod(HttpServerRequest req, ProxySettings s, HttpHead head) {
    String client = client(req);
    boolean body = hasBody(req);
    long max = s.proxy().icap().maxBufferedBody();
    long t0 = System.nanoTime();
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    return icap.acquire(s.reqmod()).compose(acq -> {
      IcapRequest r = withEvents(IcapClient.request("REQMOD", acq.conn().service(), client, userName(req), groups(req),
          head, null, body ? BodyKind.REQ_BODY : BodyKind.NULL_BODY, body ? 0 : -1, !body));
      byte[] bytes = IcapEncoder.encode(r);
      if (body) {
        byte[] withEnd = java.util.Arrays.copyOf(bytes, bytes.length + IcapEncoder.LAST_CHUNK.length);
        System.arraycopy(IcapEncoder.LAST_CHUNK, 0, withEnd, bytes.length, IcapEncoder.LAST_CHUNK.length);
        bytes = withEnd;
      }
      return icap.exchange(acq.conn(), bytes, max, () -> collect(req, max).map(b -> {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(b.length() + 32);
        if (b.length() > 0) {
          out.writeBytes(IcapEncoder.chunk(b.getBytes()));
        }
        out.writeBytes(IcapEncoder.LAST_CHUNK);
        return out.toByteArray();
      })).onComplete(x -> icap.pool().release(acq.conn(), x.succeeded()));
    }).onComplete(x -> {
      if (f != null && f.req == req) {
        f.icapNanos += System.nanoTime() - t0;
        if (x.succeeded() && x.result() != null && x.result().head() != null) {
          f.icapAnswered(x.result().head(), -1);
        }
      }
    });
  }

  /** Our ICAP server then answers its decision in X-Portcullis-* headers and leaves the event to us. */
  private static IcapRequest withEvents(IcapRequest r) {
    return new IcapRequest(r.method(), r.uri(), r.headers().with(DecisionHeaders.EVENTS, "client"), r.httpRequest(),
        r.httpResponse(), r.body(), r.preview());
  }

  /** The client's request body, whole, up to {@code max} bytes. */
  private static Future<Buffer> collect(HttpServerRequest req, long max) {
    io.vertx.core.Promise<Buffer> p = io.vertx.core.Promise.promise();
    Buffer all = Buffer.buffer();
    req.handler(b -> {
      if (all.length() + b.length() > max) {
        p.tryFail("request body larger than proxy.icap.maxBufferedBody");
        req.pause();
        return;
      }
      all.appendBuffer(b);
    });
    req.endHandler(v -> p.tryComplete(all));
    req.exceptionHandler(p::tryFail);
    req.resume();
    return p.future();
  }

  /** ICAP could not answer: onError bypass passes the message unscanned, block shows the 503 page. */
  private void icapFailed(HttpServerRequest req, ProxySettings s, Throwable cause, Runnable bypass) {
    LOG.warn("ICAP failed for {}: {} ({})", io.portcullis.daemon.logging.Logs.escape(req.uri()), cause.getMessage(), s.proxy().icap().onError());
    boolean bypassed = s.proxy().icap().onError() == ProxyConfig.ProxyIcap.OnError.BYPASS;
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    if (f != null && f.req == req) {
      f.decide(bypassed ? "allow" : "error", "proxy.icap.onError"); // the event says it went unscanned
    }
    if (bypassed) {
      bypass.run();
    } else if (!req.response().headWritten()) {
      error(req, 503, "Service unavailable", "The content scanning service is not available; try again later.",
          false);
    } else {
      req.connection().close();
    }
  }

  /** Sends the client an answer that the ICAP server made (e.g. a block page). */
  private Future<Void> respond(HttpServerRequest req, HttpHead head, Buffer body) {
    InFlight inFlight = channel(req).attr(IN_FLIGHT).get();
    if (inFlight != null && inFlight.req == req) {
      inFlight.code = head.status() >= 300 && head.status() < 400 ? "TCP_REDIRECT" : "TCP_DENIED"; // the rules answered
    }
    HttpServerResponse out = req.response();
    out.setStatusCode(head.status());
    String line = head.startLine();
    int sp = line.indexOf(' ', 9);
    if (sp > 0) {
      out.setStatusMessage(line.substring(sp + 1));
    }
    for (Headers.Field f : head.headers().fields()) {
      if (!hopByHop(f.name())) {
        out.headers().add(f.name(), f.value());
      }
    }
    out.headers().add("Via", via("http/1.1"));
    if (!out.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
      out.headers().set(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length()));
    }
    req.resume();
    return out.end(body);
  }

  private static boolean allowed(String address, ProxySettings s) {
    return CidrMatcher.anyMatches(s.allowedClients(), CidrMatcher.literal(address));
  }

  /** The client's address as {@link #begin} took it for {@code req}; the peer's if there is no record of it. */
  private String client(HttpServerRequest req) {
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    return f != null && f.req == req ? f.client : req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
  }

  /**
   * Who sent {@code req}: the peer, or, when the peer is one of proxy.followXForwardedFor, the address its
   * X-Forwarded-For ends with, and so on leftwards while that address is a forwarder too (Squid's walk). An entry that
   * is not an IP address ends the walk at the last trusted hop's word.
   */
  static String clientAddress(HttpServerRequest req, ProxySettings s) {
    String peer = req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
    if (s.forwarders().isEmpty() || peer == null || !CidrMatcher.anyMatches(s.forwarders(), CidrMatcher.literal(peer))) {
      return peer;
    }
    List<String> values = req.headers().getAll("X-Forwarded-For");
    String client = peer;
    for (int v = values.size() - 1; v >= 0; v--) {
      String[] hops = values.get(v).split(",");
      for (int i = hops.length - 1; i >= 0; i--) {
        String hop = hops[i].trim();
        byte[] address = CidrMatcher.literal(hop);
        if (address == null) {
          return client;
        }
        client = hop;
        if (!CidrMatcher.anyMatches(s.forwarders(), address)) {
          return client;
        }
      }
    }
    return client;
  }

  /** host[:port] (IPv6 in brackets) with {@code defaultPort}, or null. */
  static HostPort origin(String authority, int defaultPort) {
    String a = authority;
    int at = a.lastIndexOf('@');
    if (at >= 0) {
      return null; // user info in a proxy URL: refused, as RFC 9110 4.2.4 advises
    }
    try {
      if (a.startsWith("[")) {
        int close = a.indexOf(']');
        String port = a.substring(close + 1);
        return HostPort.parse(a.substring(0, close + 1) + (port.isEmpty() ? ":" + defaultPort : port));
      }
      return HostPort.parse(a.indexOf(':') >= 0 ? a : a + ":" + defaultPort);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void forward(HttpServerRequest req, ProxySettings settings, HostPort target0, String authority0,
      String path0, HttpHead head, Buffer newBody, HttpHead changed) {
    ProxyConfig s = settings.proxy();
    HostPort target = target0;
    String authority = authority0;
    String path = path0;
    HttpMethod method = req.method();
    if (changed != null) {
      // REQMOD changed the request: its line and headers replace the client's.
      method = HttpMethod.valueOf(changed.method());
      String t = changed.target();
      if (t.regionMatches(true, 0, "http://", 0, 7)) {
        int slash = t.indexOf('/', 7);
        authority = slash < 0 ? t.substring(7) : t.substring(7, slash);
        path = slash < 0 ? "/" : t.substring(slash);
        HostPort o = origin(authority, 80);
        target = o == null ? target : o;
      } else if (t.startsWith("/")) {
        path = t;
      }
    }
    HostPort finalTarget = target;
    String finalAuthority = authority;
    HttpMethod finalMethod = method;
    String finalPath = path;
    destination(req, settings, target, address -> {
      RequestOptions options = new RequestOptions().setMethod(finalMethod).setHost(finalTarget.host())
          .setPort(finalTarget.port()).setServer(address).setURI(finalPath)
          .setIdleTimeout(s.upstreamTimeout().toMillis());
      send(req, settings, options, finalTarget, finalAuthority, head, newBody, changed);
    });
  }

  /**
   * Resolves {@code target}'s host once and calls {@code then} with the address to connect to, unless
   * proxy.deniedDestinations (or the node's own ports) refuse it: 403, with the reason in the event and access log.
   */
  private void destination(HttpServerRequest req, ProxySettings settings, HostPort target,
      java.util.function.Consumer<SocketAddress> then) {
    byte[] literal = CidrMatcher.literal(target.host());
    Future<java.net.InetAddress> resolved;
    try {
      resolved = literal != null ? Future.succeededFuture(java.net.InetAddress.getByAddress(literal))
          : ((io.vertx.core.internal.VertxInternal) vertx).nameResolver().resolve(target.host());
    } catch (java.net.UnknownHostException e) {
      resolved = Future.failedFuture(e);
    }
    resolved.onComplete(ar -> {
      if (over(req)) {
        return;
      }
      if (ar.failed()) {
        req.resume();
        upstreamFailed(req, ar.cause(), target);
        return;
      }
      String refusal = settings.destinations().refusal(ar.result(), target.port());
      if (refusal != null) {
        req.resume();
        InFlight f = channel(req).attr(IN_FLIGHT).get();
        if (f != null && f.req == req) {
          f.decide("block", "proxy.deniedDestinations");
        }
        LOG.info("refused {} for {}: {}", io.portcullis.daemon.logging.Logs.escape(req.uri()), req.remoteAddress(), refusal);
        error(req, 403, "Access denied", "This proxy does not connect to " + target
            + ": the address it names is not one it may reach (" + refusal + ").", true);
        return;
      }
      then.accept(SocketAddress.inetSocketAddress(new java.net.InetSocketAddress(ar.result(), target.port())));
    });
  }

  private void send(HttpServerRequest req, ProxySettings settings, RequestOptions options, HostPort finalTarget,
      String finalAuthority, HttpHead head, Buffer newBody, HttpHead changed) {
    ProxyConfig s = settings.proxy();
    long t0 = System.nanoTime();
    client.request(options).onComplete(ar -> {
      if (ar.failed()) {
        upstreamFailed(req, ar.cause(), finalTarget);
        return;
      }
      HttpClientRequest up = ar.result();
      if (over(req)) {
        up.reset(); // timed out or gone while the connection was being found
        return;
      }
      InFlight inFlight = channel(req).attr(IN_FLIGHT).get();
      if (inFlight != null && inFlight.req == req) {
        inFlight.up = up;
        inFlight.peer = finalTarget.host();
      }
      if (changed != null) {
        for (Headers.Field f : changed.headers().fields()) {
          if (!hopByHop(f.name())) {
            up.headers().add(f.name(), f.value());
          }
        }
      } else {
        copyHeaders(req.headers(), up.headers());
      }
      up.headers().set(HttpHeaders.HOST, finalAuthority); // the absolute URI's authority wins over Host (RFC 9112)
      up.headers().add("Via", via(req.version().alpnName()));
      if (s.xForwardedFor() && req.remoteAddress() != null) {
        String prior = req.headers().get("X-Forwarded-For");
        up.headers().set("X-Forwarded-For", (prior == null ? "" : prior + ", ") + req.remoteAddress().hostAddress());
      }
      boolean hasBody = req.headers().contains(HttpHeaders.CONTENT_LENGTH)
          || req.headers().contains(HttpHeaders.TRANSFER_ENCODING);
      Future<HttpClientResponse> sent;
      if (newBody != null) {
        up.headers().remove(HttpHeaders.TRANSFER_ENCODING);
        up.headers().set(HttpHeaders.CONTENT_LENGTH, Integer.toString(newBody.length()));
        sent = up.send(newBody);
      } else if (changed != null && req.headers().contains(HttpHeaders.CONTENT_LENGTH) == false
          && !req.headers().contains(HttpHeaders.TRANSFER_ENCODING)) {
        req.resume();
        sent = up.send();
      } else if (hasBody) {
        if (!req.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
          up.setChunked(true);
        }
        sent = up.send(req);
      } else {
        req.resume();
        sent = up.send();
      }
      sent.onComplete(res -> {
        if (inFlight != null && inFlight.req == req) {
          inFlight.upstreamNanos = System.nanoTime() - t0;
        }
        if (res.failed()) {
          upstreamFailed(req, res.cause(), finalTarget);
          return;
        }
        if (over(req)) {
          // The user went away while the origin answered: the reset's own failure is expected, not an error to log.
          res.result().exceptionHandler(e -> LOG.debug("origin answer for a gone user: {}", e.toString()));
          res.result().request().reset();
          return;
        }
        if (settings.respmod().isEmpty()) {
          relay(req, res.result());
        } else {
          new Respmod(req, res.result(), head, settings).start();
        }
      });
    });
  }

  private void relay(HttpServerRequest req, HttpClientResponse res) {
    HttpServerResponse out = req.response();
    out.setStatusCode(res.statusCode());
    out.setStatusMessage(res.statusMessage());
    copyHeaders(res.headers(), out.headers());
    out.headers().add("Via", via(res.version().alpnName()));
    int status = res.statusCode();
    boolean noBody = req.method() == HttpMethod.HEAD || status == 204 || status == 304 || status < 200;
    if (noBody) {
      res.body().onComplete(x -> out.end());
      return;
    }
    if (!res.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
      out.setChunked(true);
    }
    stream(req, res, out);
  }

  /**
   * Relays the origin's body to the user with back-pressure. Not Vert.x's pipe: when the user goes away mid-body,
   * the origin's remaining chunks must be dropped and its request reset, not written to a closed response.
   */
  private void stream(HttpServerRequest req, HttpClientResponse res, HttpServerResponse out) {
    boolean[] gone = {false};
    out.closeHandler(v -> {
      cutShort(req);
      if (!out.ended()) {
        gone[0] = true;
        res.request().reset();
      }
    });
    res.handler(b -> {
      if (gone[0] || out.ended()) {
        return;
      }
      out.write(b);
      if (out.writeQueueFull()) {
        res.pause();
        out.drainHandler(v -> res.resume());
      }
    });
    res.exceptionHandler(e -> {
      if (!gone[0] && !out.ended()) {
        LOG.debug("relay of {} cut short: {}", io.portcullis.daemon.logging.Logs.escape(req.uri()), e.toString());
        req.connection().close();
      }
    });
    res.endHandler(v -> {
      if (!gone[0] && !out.ended()) {
        out.end();
      }
    });
    res.resume();
  }

  /** CONNECT: the rules see it through REQMOD first (as Squid sends it), then the tunnel opens. */
  private void tunnel(HttpServerRequest req, ProxySettings settings) {
    ProxyConfig s = settings.proxy();
    HostPort target = origin(req.uri(), -1);
    InFlight f = channel(req).attr(IN_FLIGHT).get();
    if (f != null && f.req == req && target != null) {
      f.host = target.host();
    }
    if (settings.reqmod().isEmpty() || target == null || target.port() <= 0
        || !s.connectPorts().contains(target.port())) {
      tunnelChecked(req, s); // refusals need no rules
      return;
    }
    req.pause();
    HttpHead head = requestHead(req, req.uri(), req.uri());
    reqmod(req, settings, head).onComplete(ar -> {
      if (over(req)) {
        return; // timed out or gone while ICAP answered
      }
      if (ar.failed()) {
        icapFailed(req, settings, ar.cause(), () -> tunnelChecked(req, s));
        return;
      }
      IcapResponse r = ar.result() == null ? null : ar.result().head();
      if (r == null || r.status() == 204 || (r.status() == 200 && r.httpResponse() == null)) {
        tunnelChecked(req, s);
      } else if (r.status() == 200) {
        req.response().putHeader(HttpHeaders.CONNECTION, "close"); // no tunnel: nothing else on this connection
        respond(req, r.httpResponse(), ar.result().body()).onComplete(v -> req.connection().close());
      } else {
        icapFailed(req, settings, new IllegalStateException("ICAP answered " + r.status() + " " + r.reason()),
            () -> tunnelChecked(req, s));
      }
    });
  }

  private void tunnelChecked(HttpServerRequest req, ProxyConfig s) {
    HostPort target = origin(req.uri(), -1);
    if (target == null || target.port() <= 0) {
      error(req, 400, "Bad request", "CONNECT needs host:port.", true);
      return;
    }
    if (!s.connectPorts().contains(target.port())) {
      InFlight f = channel(req).attr(IN_FLIGHT).get();
      if (f != null && f.req == req) {
        f.decide("block", "proxy.connectPorts");
      }
      error(req, 403, "Access denied", "Tunnels to port " + target.port() + " are not allowed.", true);
      return;
    }
    req.pause();
    destination(req, settings(), target, address -> tunnels.connect(address).onComplete(ar -> {
      if (ar.succeeded() && over(req)) {
        ar.result().close();
        return;
      }
      if (ar.failed()) {
        req.resume();
        upstreamFailed(req, ar.cause(), target);
        return;
      }
      var upstream = ar.result();
      req.toNetSocket().onComplete(sock -> {
        if (sock.failed()) {
          upstream.close();
          return;
        }
        var client = sock.result();
        InFlight f = channel(req).attr(IN_FLIGHT).get();
        AccessLog log = settings().accessLog();
        if (f != null) {
          stopTimer(f); // a tunnel lives until idle; proxy.requestTimeout does not cut it
          f.code = "TCP_TUNNEL";
          f.peer = target.host();
          f.tunnelled = 0;
          client.closeHandler(v -> record(f, log));
        }
        client.pipeTo(upstream);
        // Not pipeTo: the bytes the client gets are counted for the access log.
        upstream.handler(b -> {
          if (f != null) {
            f.tunnelled += b.length();
          }
          client.write(b);
          if (client.writeQueueFull()) {
            upstream.pause();
            client.drainHandler(v -> upstream.resume());
          }
        });
        upstream.endHandler(v -> client.end());
        upstream.exceptionHandler(e -> client.close());
      });
    }));
  }

  private void upstreamFailed(HttpServerRequest req, Throwable cause, HostPort target) {
    boolean timeout = cause instanceof TimeoutException || String.valueOf(cause.getMessage()).contains("timeout")
        || String.valueOf(cause.getMessage()).contains("timed out");
    LOG.debug("upstream {} failed: {}", target, cause.toString());
    if (over(req)) {
      return;
    }
    if (req.response().headWritten()) {
      req.connection().close();
      return;
    }
    if (timeout) {
      error(req, 504, "Gateway timeout", "The web server " + target + " did not answer in time.", false);
    } else {
      error(req, 502, "Bad gateway", "The web server " + target + " could not be reached.", false);
    }
  }

  private void error(HttpServerRequest req, int status, String title, String detail, boolean close) {
    byte[] body = ErrorPage.render(status, title, detail, settings().node())
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    HttpServerResponse r = req.response().setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
    // A CONNECT answered with an error closes: the framing guard took the rest of the connection for a tunnel.
    close = close || req.method() == HttpMethod.CONNECT;
    io.netty.channel.Channel ch = channel(req);
    if (close) {
      r.putHeader(HttpHeaders.CONNECTION, "close");
      // Before the answer ends (Vert.x then dispatches what was pipelined): nothing after this request is served,
      // and nothing more is even decoded.
      ch.attr(CLOSING).set(Boolean.TRUE);
      LingeringClose.discardInput(ch);
    }
    Future<Void> sent = r.end(io.vertx.core.buffer.Buffer.buffer(body));
    if (close) {
      sent.onComplete(v -> LingeringClose.close(ch));
    }
  }

  private String via(String version) {
    return ("http/1.0".equals(version) ? "1.0 " : "1.1 ") + settings().node() + " (Portcullis)";
  }

  /** Copies end-to-end headers: drops hop-by-hop ones and those named in Connection (RFC 9110 7.6.1). */
  static void copyHeaders(MultiMap from, MultiMap to) {
    copyHeaders(from, to, ProxyVerticle::hopByHop);
  }

  /** Copies headers less those {@code hopByHop} names and those named in Connection (the balancer's set differs). */
  public static void copyHeaders(MultiMap from, MultiMap to, java.util.function.Predicate<String> hopByHop) {
    Set<String> named = null;
    for (String c : from.getAll(HttpHeaders.CONNECTION)) {
      for (String token : c.split(",")) {
        if (named == null) {
          named = new HashSet<>();
        }
        named.add(token.strip().toLowerCase(Locale.ROOT));
      }
    }
    for (Map.Entry<String, String> e : from) {
      String n = e.getKey();
      if (!hopByHop.test(n) && (named == null || !named.contains(n.toLowerCase(Locale.ROOT)))) {
        to.add(n, e.getValue());
      }
    }
  }

  /** True for the hop-by-hop headers of {@link #HOP_BY_HOP}, in any case, without allocating (runs per header). */
  static boolean hopByHop(String n) {
    return switch (n.length()) {
      case 2 -> n.equalsIgnoreCase("te");
      case 7 -> n.equalsIgnoreCase("trailer") || n.equalsIgnoreCase("upgrade");
      case 10 -> n.equalsIgnoreCase("connection") || n.equalsIgnoreCase("keep-alive");
      case 16 -> n.equalsIgnoreCase("proxy-connection");
      case 17 -> n.equalsIgnoreCase("transfer-encoding");
      case 18 -> n.equalsIgnoreCase("proxy-authenticate");
      case 19 -> n.equalsIgnoreCase("proxy-authorization");
      default -> false;
    };
  }

  /**
   * RESPMOD for one origin response, streamed: the head and the first {@code Preview} bytes go to the ICAP server;
   * a 204 relays the origin's response (what was read plus the rest, straight from the origin); a 100 Continue sends
   * the rest of the body as it comes (kept too, when small enough that we offered 204); a 200 relays the ICAP server's
   * message, its body streamed to the user as it comes. Back-pressure both ways; a timeout before the answer begins
   * counts as an ICAP failure.
   */
  private final class Respmod {
    private final HttpServerRequest req;
    private final HttpClientResponse res;
    private final HttpHead reqHead;
    private final ProxySettings s;
    private Buffer read = Buffer.buffer(); // body bytes read from the origin and not yet relayed
    private IcapConnectionPool.Conn conn;
    private int preview;
    private boolean offered204;
    private boolean continued;
    private boolean originEnded;
    private boolean answered;
    private boolean done;
    private IcapResponse answer;
    private long timer = -1;
    private byte[] head; // the RESPMOD head, until the preview goes with it
    private long started;

    Respmod(HttpServerRequest req, HttpClientResponse res, HttpHead reqHead, ProxySettings s) {
      this.req = req;
      this.res = res;
      this.reqHead = reqHead;
      this.s = s;
    }

    void start() {
      res.pause();
      InFlight f = channel(req).attr(IN_FLIGHT).get();
      if (f != null && f.req == req) {
        f.respmod = this;
      }
      started = System.nanoTime();
      icap.acquire(s.respmod()).onComplete(ar -> {
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
        timer = vertx.setTimer(s.proxy().icap().timeout().toMillis(),
            t -> fail(new IllegalStateException("ICAP service timed out")));
        boolean noBody = req.method() == HttpMethod.HEAD || res.statusCode() == 204 || res.statusCode() == 304
            || res.statusCode() < 200;
        HttpHead resHead = responseHead(res);
        String cl = res.getHeader(HttpHeaders.CONTENT_LENGTH);
        long length = -1;
        try {
          length = cl == null ? -1 : Long.parseLong(cl.strip());
        } catch (NumberFormatException e) {
          length = -1;
        }
        offered204 = noBody || (length >= 0 && length <= s.proxy().icap().maxBufferedBody());
        String client = client(req);
        IcapRequest r = withEvents(IcapClient.request("RESPMOD", conn.service(), client, userName(req), groups(req),
            reqHead, resHead, noBody ? BodyKind.NULL_BODY : BodyKind.RES_BODY, noBody ? -1 : preview, offered204));
        if (noBody) {
          originEnded = true;
          conn.socket().write(Buffer.buffer(IcapEncoder.encode(r)));
          res.resume();
          return;
        }
        head = IcapEncoder.encode(r); // sent with the preview, in one write (one segment, one wake-up)
        res.handler(this::onPreviewData);
        res.endHandler(v -> {
          originEnded = true;
          sendPreview();
        });
        res.exceptionHandler(this::originFailed);
        res.resume();
      });
    }

    private void onPreviewData(Buffer b) {
      read.appendBuffer(b);
      if (read.length() >= preview) {
        res.pause();
        sendPreview();
      }
    }

    /** Sends the preview: the first {@code preview} bytes, then {@code 0; ieof} if that was all, else {@code 0}. */
    private void sendPreview() {
      if (!originEnded) {
        res.handler(null); // the rest waits (paused) for the ICAP server's word
        res.endHandler(v -> originEnded = true);
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
        InFlight f = channel(req).attr(IN_FLIGHT).get();
        if (f != null && f.req == req) {
          f.icapNanos += System.nanoTime() - started;
          f.icapAnswered(r, res.statusCode());
        }
        if (r.status() == 200 && r.httpResponse() != null) {
          answered = true;
          stopFeedingIcapIfNotContinued();
          startUserResponse(r.httpResponse(), r.body().hasBody());
        } else if (r.status() != 204) {
          fail(new IllegalStateException("ICAP answered " + r.status() + " " + r.reason()));
        }
      } else if (e instanceof IcapDecoder.Body b) {
        if (answered) {
          byte[] chunk = new byte[b.data().remaining()];
          b.data().get(chunk);
          HttpServerResponse out = req.response();
          out.write(Buffer.buffer(chunk));
          if (out.writeQueueFull()) {
            conn.socket().pause();
            out.drainHandler(v -> conn.socket().resume());
          }
        }
      } else if (e instanceof IcapDecoder.End) {
        if (answer == null) {
          continueBody(); // a 100 Continue has ended
        } else if (answer.status() == 204) {
          done = true;
          finishIcap(true);
          relayOriginal();
        } else if (answered) {
          done = true;
          req.response().end();
          finishIcap(originEnded);
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
      res.handler(b -> {
        if (offered204) {
          read.appendBuffer(b);
        }
        conn.socket().write(Buffer.buffer(IcapEncoder.chunk(b.getBytes())));
        if (conn.socket().writeQueueFull()) {
          res.pause();
          conn.socket().drainHandler(v -> res.resume());
        }
      });
      res.endHandler(v -> {
        originEnded = true;
        conn.socket().write(Buffer.buffer(IcapEncoder.LAST_CHUNK));
      });
      res.resume();
    }

    private void stopFeedingIcapIfNotContinued() {
      if (!continued && !originEnded) {
        // The ICAP server answered after the preview: it wants no more of the body; drop the origin's rest.
        res.handler(null);
        res.request().reset();
      }
    }

    private void startUserResponse(HttpHead head, boolean body) {
      HttpServerResponse out = req.response();
      out.setStatusCode(head.status());
      for (Headers.Field f : head.headers().fields()) {
        if (!hopByHop(f.name())) {
          out.headers().add(f.name(), f.value());
        }
      }
      out.headers().add("Via", via("http/1.1"));
      if (!out.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
        out.setChunked(true);
      }
      if (!body) {
        out.headers().set(HttpHeaders.CONTENT_LENGTH, "0");
      }
    }

    /** 204: the origin's response as it was: the bytes read so far, then the rest straight from the origin. */
    private void relayOriginal() {
      HttpServerResponse out = req.response();
      out.setStatusCode(res.statusCode());
      out.setStatusMessage(res.statusMessage());
      copyHeaders(res.headers(), out.headers());
      out.headers().add("Via", via(res.version().alpnName()));
      boolean noBody = req.method() == HttpMethod.HEAD || res.statusCode() == 204 || res.statusCode() == 304;
      if (noBody) {
        out.end();
        return;
      }
      if (!res.headers().contains(HttpHeaders.CONTENT_LENGTH)) {
        out.setChunked(true);
      }
      if (read.length() > 0) {
        out.write(read);
      }
      if (originEnded) {
        out.end();
        return;
      }
      stream(req, res, out);
    }

    private void finishIcap(boolean reusable) {
      if (conn != null) {
        icap.pool().release(conn, reusable);
      }
    }

    private void cancelTimer() {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }

    private void originFailed(Throwable t) {
      if (!done) {
        done = true;
        cancelTimer();
        if (conn != null) {
          icap.pool().discard(conn);
        }
        upstreamFailed(req, t, new HostPort("origin", 1));
      }
    }

    /** The user's answer is over (proxy.requestTimeout): the ICAP exchange and the origin's response stop here. */
    void abandon() {
      if (done) {
        return;
      }
      done = true;
      cancelTimer();
      if (conn != null) {
        icap.pool().discard(conn); // mid-exchange: its remaining bytes would confuse the next user
      }
      res.request().reset();
    }

    private void fail(Throwable cause) {
      if (done) {
        return;
      }
      done = true;
      cancelTimer();
      if (conn != null) {
        icap.pool().discard(conn);
      }
      boolean canBypass = !continued || offered204;
      boolean bypass = canBypass && !req.response().headWritten()
          && s.proxy().icap().onError() == ProxyConfig.ProxyIcap.OnError.BYPASS;
      InFlight f = channel(req).attr(IN_FLIGHT).get();
      if (f != null && f.req == req) {
        f.decide(bypass ? "allow" : "error", "proxy.icap.onError"); // cut off mid-body: the ICAP server records why
      }
      if (req.response().headWritten()) {
        req.connection().close();
        return;
      }
      if (bypass) {
        LOG.warn("ICAP failed for {}: {} (bypass)", io.portcullis.daemon.logging.Logs.escape(req.uri()), cause.getMessage());
        relayOriginal();
        return;
      }
      LOG.warn("ICAP failed for {}: {} (block)", io.portcullis.daemon.logging.Logs.escape(req.uri()), cause.getMessage());
      res.request().reset();
      error(req, 503, "Service unavailable", "The content scanning service is not available; try again later.",
          false);
    }
  }

  /** The origin's response head as ICAP carries it. */
  private static HttpHead responseHead(HttpClientResponse res) {
    io.vertx.core.MultiMap h = io.vertx.core.MultiMap.caseInsensitiveMultiMap();
    copyHeaders(res.headers(), h);
    List<String> nv = new ArrayList<>();
    for (Map.Entry<String, String> e : h) {
      nv.add(e.getKey());
      nv.add(e.getValue());
    }
    String reason = res.statusMessage() == null ? "" : res.statusMessage();
    return new HttpHead("HTTP/1.1 " + res.statusCode() + " " + reason, Headers.of(nv.toArray(new String[0])));
  }
}
