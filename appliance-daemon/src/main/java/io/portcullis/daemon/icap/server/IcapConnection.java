package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.icap.codec.DecisionHeaders;
import io.netty.buffer.Unpooled;
import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.events.TrafficEvent;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.FileTypes;
import io.portcullis.daemon.scan.ScanResult;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.net.NetSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICAP client connection: decodes its messages in order and answers each, on the connection's event loop,
 * never blocking (scans run on the scanner's threads; meanwhile the connection waits, its later messages queued).
 * REQMOD: bypass, then access rules on the request. RESPMOD: bypass, access rules and protection on the request
 * plus the response's type, true file type (first bytes), name and size; a body to scan is collected whole, up to
 * {@code scan.maxSize}. A pass is 204 when allowed (in a preview, or with {@code Allow: 204}), else a 200 carrying the
 * message, streamed with back-pressure.
 */
final class IcapConnection {
  private static final Logger LOG = LoggerFactory.getLogger(IcapConnection.class);
  static final String SERVER = "Portcullis/" + io.portcullis.daemon.runtime.Version.get();
  /** Body bytes past which a scanned answer's head goes out before the scan ends (see {@link #headEarly}). */
  static final int EARLY_HEAD = 32 * 1024;
  /** While a scan waits, one body byte goes out per this many received (see {@link #headEarly}). */
  static final int KICK_EVERY = 16 * 1024;

  private enum Service { REQMOD, RESPMOD }

  /** What the current message waits for. */
  private enum Plan {
    OPTIONS,  // answer at End
    ANSWERED, // a final answer went out: drop the rest of the body
    WAIT_204, // answer 204 at the preview's end or at End
    ECHO,     // a 200 with the message went out; body chunks follow as they come
    SNIFF,    // collecting the body's first bytes to decide
    COLLECT,  // collecting the whole body to scan it
    SCANNING  // the scan runs; the connection waits
  }

  private final NetSocket socket;
  private final Supplier<IcapSettings> settings;
  private final IcapMetrics metrics;
  private final Runnable onClose;
  private final Context context;
  private final Deque<IcapDecoder.Event> queue = new ArrayDeque<>();
  private final IcapMetrics.Last lastMeters = new IcapMetrics.Last();
  private IcapDecoder decoder;
  private boolean closed;
  private boolean waiting;

  // The transaction in progress.
  private IcapRequest request;
  private IcapSettings s;
  private Plan plan;
  private Service service;
  private long started;
  private long bodyBytes;
  private int status;
  private IcapVerdict verdict;
  private Facts facts;
  private String clientIp;
  private String user;
  private List<String> groups;
  private boolean answerStarted;
  private boolean cutOff; // a threat found after the 200 went out: the answer was cut off
  private boolean aborted; // the client closed the connection before the answer was complete
  private boolean inPreview;
  private boolean headSent;
  private boolean overMaxSize; // past scan.maxSize inside a preview, with scan.overMaxSize block: answered at its end
  private int released; // body bytes of a scanned answer sent before its scan ended (see headEarly)
  private byte[] body = new byte[0];
  private int bodyLen;
  private long headTimer = -1;
  private boolean midHead; // a head is being read (it began at headStarted)
  private long headStarted; // System.nanoTime()

  IcapConnection(NetSocket socket, Supplier<IcapSettings> settings, IcapMetrics metrics, Runnable onClose,
      Context context) {
    this.socket = socket;
    this.settings = settings;
    this.metrics = metrics;
    this.onClose = onClose;
    this.context = context;
  }

  void start() {
    decoder = new IcapDecoder(IcapDecoder.Mode.REQUEST, settings.get().limits());
    socket.handler(this::onData);
    socket.closeHandler(v -> {
      if (headTimer >= 0) {
        context.owner().cancelTimer(headTimer);
        headTimer = -1;
      }
      boolean midTransaction = !closed && request != null && plan != null;
      closed = true;
      if (midTransaction) {
        aborted = true; // the client went away (Squid: the user did): still one event, as an error
        finish();
      }
      onClose.run();
    });
    socket.exceptionHandler(e -> LOG.debug("icap connection {}: {}", socket.remoteAddress(), e.toString()));
  }

  private void onData(Buffer buffer) {
    if (closed) {
      return;
    }
    if (request == null && !midHead) {
      headBegins(); // between messages: these bytes begin a head, which must be whole within icap.headerTimeout
    }
    ByteBuffer in = ((BufferInternal) buffer).getByteBuf().nioBuffer();
    queue.addAll(decoder.feed(in));
    drain();
    armHeadTimerIfMidHead();
  }

  /**
   * A read (or a scan's end) may leave the start of a next head in the decoder after a whole message: it gets the
   * header timeout too, or a client could stall there until the idle timeout.
   */
  private void armHeadTimerIfMidHead() {
    if (!closed && request == null && !midHead && !decoder.idle()) {
      headBegins();
    }
  }

  /**
   * A head begins now. The connection's one timer is set only when none is pending, and when it fires it looks at
   * the head in progress then (if any): a timer set and cancelled per message cost a twelfth of the event loop's time
   * for small REQMODs, and a busy connection now sets one per header timeout.
   */
  private void headBegins() {
    midHead = true;
    headStarted = System.nanoTime();
    if (headTimer < 0) {
      headTimer = context.owner().setTimer(headTimeoutMillis(), t -> onHeadTimer());
    }
  }

  private long headTimeoutMillis() {
    return Math.max(100, settings.get().icap().headerTimeout().toMillis());
  }

  private void onHeadTimer() {
    headTimer = -1;
    if (closed || request != null || !midHead) {
      return; // no head in progress: the next one sets the timer again
    }
    long left = headTimeoutMillis() - (System.nanoTime() - headStarted) / 1_000_000;
    if (left <= 0) {
      onHeadTimeout();
    } else {
      headTimer = context.owner().setTimer(Math.max(1, left), t -> onHeadTimer()); // a later head than the timer's
    }
  }

  /** Handles queued events until the queue is empty or a scan makes the connection wait. */
  private void drain() {
    try {
      while (!waiting && !closed && !queue.isEmpty()) {
        IcapDecoder.Event e = queue.poll();
        if (e instanceof IcapDecoder.Body b) {
          onBody(b.data());
        } else if (e instanceof IcapDecoder.Head h) {
          onHead((IcapRequest) h.message());
        } else if (e instanceof IcapDecoder.End) {
          onEnd();
        } else if (e instanceof IcapDecoder.PreviewEnd) {
          onPreviewEnd();
        } else if (e instanceof IcapDecoder.Error err) {
          onError(err.reason());
        }
      }
    } catch (RuntimeException e) {
      // A bug must cost one connection, never the server.
      LOG.error("icap connection {}: internal error, closing", socket.remoteAddress(), e);
      closed = true;
      socket.close();
    }
  }

  // ---- message head ------------------------------------------------------------------------------------------------

  private void onHead(IcapRequest r) {
    midHead = false; // the head is whole (its timer, if pending, finds no head in progress)
    request = r;
    s = settings.get();
    started = System.nanoTime();
    bodyBytes = 0;
    bodyLen = 0;
    status = 0;
    verdict = IcapVerdict.NONE;
    facts = null;
    answerStarted = false;
    cutOff = false;
    headSent = false;
    overMaxSize = false;
    released = 0;
    inPreview = r.hasPreview();
    identify(r, s.icap().identity());
    service = switch (r.servicePath()) {
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
    HttpHead http = r.httpRequest();
    facts = http == null ? new Facts("GET", "", clientIp, user, groups, null, Instant.now())
        : Facts.ofRequest(http, clientIp, user, groups, Instant.now());
    verdict = IcapDecider.onRequest(s.policy(), facts, service == Service.REQMOD, r.body().hasBody());
    if (verdict.step() != IcapVerdict.Step.NEEDS_BODY) {
      act(false);
    } else if (r.body().hasBody()) {
      plan = Plan.SNIFF; // its first bytes tell its true type
    } else {
      facts.withResponse(r.httpResponse(), null, 0, -1); // RESPMOD without a body: its head is all there is
      decideBody(false);
    }
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
    String g = r.headers().get("X-Authenticated-Groups");
    groups = g == null ? List.of() : new ArrayList<>();
    if (g != null) {
      for (String part : g.split(",")) {
        if (!part.isBlank()) {
          groups.add(part.strip());
        }
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

  /** Carries out the verdict's step; {@code atPause}: the decoder stopped at the end of a preview. */
  private void act(boolean atPause) {
    switch (verdict.step()) {
      case BLOCK -> answerBlockPage();
      case REDIRECT -> answerRedirect();
      case PASS -> passWithSniffed(atPause);
      case SCAN -> {
        plan = Plan.COLLECT;
        if (atPause) {
          continueAfterPreview();
        }
      }
      default -> throw new IllegalStateException("nothing to act on: " + verdict.step());
    }
  }

  /** scan.maxSize and scan.overMaxSize of this transaction's scanner. */
  private IcapDecider.ScanLimit scanLimit() {
    return new IcapDecider.ScanLimit(s.scanner().maxSize(), s.scanner().blocksOverMaxSize());
  }

  /** The body's first bytes (its size, if known) into the facts: the response's, or for REQMOD the upload's. */
  private void sniffed(long size) {
    if (service == Service.REQMOD) {
      facts.withRequestBody(request.httpRequest(), body, bodyLen, size);
    } else {
      facts.withResponse(request.httpResponse(), body, bodyLen, size);
    }
  }

  /** The body (a response, or a REQMOD upload) with what is known of it: decide, and act on it. */
  private void decideBody(boolean atPause) {
    verdict = IcapDecider.onBody(s.policy(), facts, request.body().hasBody(), scanLimit());
    act(atPause);
  }

  /** Asks for the rest of a body after its preview (100 Continue), then collects it. */
  private void continueAfterPreview() {
    inPreview = false;
    write("ICAP/1.0 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    answerStarted = false; // 100 is interim: a final answer may still be a 400
    queue.addAll(decoder.continueBody());
  }

  /** The message passes; the body bytes collected so far (if any) go out first. */
  private void passWithSniffed(boolean atPause) {
    if (atPause) {
      answer204();
      finish();
      queue.addAll(decoder.skipBody());
      return;
    }
    pass();
    if (plan == Plan.ECHO && bodyLen > 0) {
      writeChunk(ByteBuffer.wrap(body, 0, bodyLen));
    }
  }

  /** The message passes unchanged: 204 when allowed, else a 200 echo (body chunks follow). */
  private void pass() {
    boolean allow204 = request.headers().hasToken("Allow", "204");
    if (inPreview || (allow204 && request.body().hasBody())) {
      plan = Plan.WAIT_204; // 204 is always allowed after a preview (RFC 3507 4.5)
      return;
    }
    if (allow204) {
      answer204();
      plan = Plan.ANSWERED;
      return;
    }
    plan = Plan.ECHO;
    writeEchoHead();
  }

  private void writeEchoHead() {
    IcapRequest r = request;
    IcapResponse echo = service == Service.REQMOD
        ? new IcapResponse(200, "OK", common(), r.httpRequest(), null, r.body().hasBody() ? BodyKind.REQ_BODY
            : BodyKind.NULL_BODY)
        : new IcapResponse(200, "OK", common(), null, r.httpResponse(), r.body().hasBody() ? BodyKind.RES_BODY
            : BodyKind.NULL_BODY);
    status = 200;
    write(IcapEncoder.encode(echo));
  }

  // ---- body, end, preview ---------------------------------------------------------------------------------------------

  private void onBody(ByteBuffer data) {
    bodyBytes += data.remaining();
    switch (plan) {
      case ECHO -> writeChunk(data);
      case SNIFF -> {
        keep(data);
        if (bodyLen >= FileTypes.HEAD) {
          sniffed(-1);
          decideBody(false);
        }
      }
      case COLLECT -> {
        if (bodyLen + (long) data.remaining() > s.scanner().maxSize() && s.scanner().blocksOverMaxSize()) {
          // Past the scan limit (no Content-Length told us before), and scan.overMaxSize says block.
          if (headSent) {
            cutOff = true; // the early head is out (see headEarly): only a cut can stop it now
            verdict = IcapDecider.overMaxSize(verdict, scanLimit());
            finish();
            closed = true;
            socket.close();
          } else if (inPreview) {
            overMaxSize = true; // the answer must wait for the preview's end
          } else {
            blockOverMaxSize();
          }
          return;
        }
        if (bodyLen + (long) data.remaining() > s.scanner().maxSize()) {
          // Past the scan limit (no Content-Length told us before): the default bypass; pass what we have and the rest.
          verdict = IcapDecider.overMaxSize(verdict, scanLimit()); // passes unscanned
          if (inPreview) {
            plan = Plan.WAIT_204; // nothing went out yet: 204 at the preview's end, the client keeps its copy
            return;
          }
          plan = Plan.ECHO;
          if (!headSent) {
            writeEchoHead();
            headSent = true;
          }
          writeChunk(ByteBuffer.wrap(body, released, bodyLen - released));
          writeChunk(data);
        } else {
          keep(data);
          headEarly();
        }
      }
      default -> {
      }
    }
  }

  /** A body over scan.maxSize that scan.overMaxSize blocks: the protection rule's block page. */
  private void blockOverMaxSize() {
    verdict = IcapDecider.overMaxSize(verdict, scanLimit());
    answerBlockPage();
  }

  /**
   * Without {@code Allow: 204} the answer to a scanned body is a 200 carrying it, and Squid (5.7, measured) hands over
   * no more than 64 KiB of a body until that answer starts, then reads on from the origin only while the answer's
   * body moves (a 5 MiB download stalled at 2.7 MB with the head alone). So once more than {@link #EARLY_HEAD} bytes
   * are in, the head (the HTTP head unchanged) goes out, then one body byte per {@link #KICK_EVERY} received (the
   * file's first bytes); the rest waits for the scan. A threat found then cuts the answer off with only those bytes
   * out: the user's download fails instead of showing the block page, which needs a head of its own. A body that
   * fits in {@code EARLY_HEAD} (or any body when the client allows 204) waits whole, and a threat gets the block page.
   */
  private void headEarly() {
    if (inPreview || request.headers().hasToken("Allow", "204") || bodyLen <= EARLY_HEAD) {
      return; // in a preview the answer must wait for its end: a 200 now would put "100 Continue" inside its body
    }
    if (!headSent) {
      writeEchoHead();
      headSent = true;
    }
    int due = bodyLen / KICK_EVERY;
    if (due > released) {
      writeChunk(ByteBuffer.wrap(body, released, due - released));
      released = due;
    }
  }

  private void keep(ByteBuffer data) {
    int n = data.remaining();
    if (bodyLen + n > body.length) {
      long want = Math.max((long) bodyLen + n, Math.min((long) body.length * 2, s.scanner().maxSize() + 1L));
      body = Arrays.copyOf(body, (int) Math.max(want, 1024));
    }
    data.get(body, bodyLen, n);
    bodyLen += n;
  }

  private void writeChunk(ByteBuffer data) {
    int n = data.remaining();
    if (n == 0) {
      return;
    }
    write(IcapEncoder.chunkHeader(n));
    // The decoder's view points into this connection's own input buffer, which nothing reuses: no copy.
    socket.write(BufferInternal.buffer(Unpooled.wrappedBuffer(data)));
    write(IcapEncoder.CRLF);
    if (socket.writeQueueFull()) {
      socket.pause();
      socket.drainHandler(v -> {
        if (!waiting) {
          socket.resume();
        }
      });
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
      case SNIFF -> {
        sniffed(bodyLen);
        inPreview = false; // the whole body is here (ieof or no preview)
        decideBody(false);
        if (plan == Plan.COLLECT) {
          startScan();
          return;
        }
        if (plan == Plan.WAIT_204) {
          answer204();
        } else if (plan == Plan.ECHO) {
          write(IcapEncoder.LAST_CHUNK);
        }
      }
      case COLLECT -> {
        startScan();
        return;
      }
      default -> {
      }
    }
    finish();
  }

  private void onPreviewEnd() {
    switch (plan) {
      case OPTIONS -> {
        answerOptions();
        finish();
        queue.addAll(decoder.skipBody());
      }
      case WAIT_204 -> {
        answer204();
        finish();
        queue.addAll(decoder.skipBody());
      }
      case ANSWERED -> {
        finish();
        queue.addAll(decoder.skipBody());
      }
      case SNIFF -> {
        sniffed(-1);
        decideBody(true);
        if (plan == Plan.ANSWERED) {
          finish();
          queue.addAll(decoder.skipBody());
        }
      }
      case COLLECT -> {
        if (overMaxSize) {
          blockOverMaxSize();
          finish();
          queue.addAll(decoder.skipBody());
        } else {
          continueAfterPreview();
        }
      }
      default -> {
        // Not reached: other plans never meet a preview. Ask for the rest rather than stall the client.
        write("ICAP/1.0 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        queue.addAll(decoder.continueBody());
      }
    }
  }

  private void startScan() {
    plan = Plan.SCANNING;
    waiting = true;
    socket.pause();
    IcapSettings txs = s;
    long t0 = System.nanoTime();
    // An upload form is also scanned part by part: each file from its first byte.
    String uploadType = service == Service.REQMOD && request.httpRequest() != null
        ? request.httpRequest().headers().get("Content-Type") : null;
    txs.scanner().scan(body, bodyLen, uploadType).whenComplete((result, err) -> context.runOnContext(v -> {
      metrics.scan(result, System.nanoTime() - t0);
      waiting = false;
      if (closed) {
        return;
      }
      try {
        afterScan(result);
      } catch (RuntimeException e) {
        LOG.error("icap connection {}: internal error after scan, closing", socket.remoteAddress(), e);
        closed = true;
        socket.close();
        return;
      }
      socket.resume();
      drain();
      armHeadTimerIfMidHead();
    }));
  }

  private void afterScan(ScanResult result) {
    verdict = IcapDecider.onScan(verdict, result);
    boolean block = verdict.step() == IcapVerdict.Step.BLOCK;
    if (result instanceof ScanResult.Failed f) {
      LOG.warn("scan failed for {} ({}): {} by rule {}", Logs.escape(facts.url()), Logs.escape(f.reason()),
          block ? "blocked" : "allowed", verdict.protection().rule());
    }
    if (block && headSent) {
      // The 200's head is out (see headEarly): cut it off with only its first bytes out. Our proxy only
      // sees the close, so this decision is recorded here even for it.
      cutOff = true;
      finish();
      closed = true;
      socket.close();
      return;
    }
    if (block) {
      answerBlockPage();
    } else if (headSent) {
      writeChunk(ByteBuffer.wrap(body, released, bodyLen - released));
      write(IcapEncoder.LAST_CHUNK);
    } else if (request.headers().hasToken("Allow", "204")) {
      answer204();
    } else {
      writeEchoHead();
      writeChunk(ByteBuffer.wrap(body, 0, bodyLen));
      write(IcapEncoder.LAST_CHUNK);
    }
    finish();
  }

  /** The head did not come whole in time: 408 and close, as RFC 3507 names it. */
  private void onHeadTimeout() {
    metrics.badRequest();
    LOG.debug("icap connection {}: no whole head within the header timeout", socket.remoteAddress());
    closed = true;
    IcapSettings cur = settings.get();
    byte[] answer = ("ICAP/1.0 408 Request Timeout\r\nServer: " + SERVER + "\r\nISTag: " + cur.istag()
        + "\r\nConnection: close\r\nEncapsulated: null-body=0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    socket.write(Buffer.buffer(answer)).onComplete(x -> socket.close());
  }

  private void onError(String reason) {
    metrics.badRequest();
    LOG.debug("icap connection {}: bad request: {}", socket.remoteAddress(), reason);
    closed = true;
    if (request != null && plan != null && answerStarted) {
      socket.close(); // mid-answer: a 400 can no longer be framed; the client sees the close
      return;
    }
    IcapSettings cur = settings.get();
    byte[] answer = ("ICAP/1.0 400 Bad Request\r\nServer: " + SERVER + "\r\nISTag: " + cur.istag()
        + "\r\nConnection: close\r\nEncapsulated: null-body=0\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    socket.write(Buffer.buffer(answer)).onComplete(x -> socket.close());
  }

  // ---- answers --------------------------------------------------------------------------------------------------------


  private boolean clientRecordsEvent() {
    return request != null && request.headers().contains(DecisionHeaders.EVENTS);
  }

  /**
   * Decision headers for our proxy, unless there is nothing to say: a plain allow (no rule, category or file type)
   * goes as the 204 encoded once per commit, the hot path's answer; the proxy reads no headers as allow.
   */
  private boolean sendsDecision() {
    return clientRecordsEvent() && (verdict.threat() != null || verdict.bypassRule() != null
        || verdict.ruleName() != null || verdict.category() != null || facts != null && facts.fileType() != null
        || !action().equals("allow"));
  }

  private Headers common() {
    boolean decision = sendsDecision();
    String threat = verdict.threat();
    if (threat == null && !decision) {
      return Headers.of("ISTag", s.istag(), "Server", SERVER);
    }
    List<String> h = new ArrayList<>(16);
    h.add("ISTag");
    h.add(s.istag());
    h.add("Server");
    h.add(SERVER);
    if (threat != null) {
      // As c-icap's virus_scan sends it: Squid can log it (%adapt::<last_h) and other gateways read it.
      h.add(DecisionHeaders.INFECTION_FOUND);
      h.add("Type=0; Resolution=2; Threat=" + headerSafe(threat).replace(';', ',') + ";");
    }
    if (decision) {
      h.add(DecisionHeaders.ACTION);
      h.add(action());
      h.add(DecisionHeaders.RULE_TYPE);
      h.add(verdict.ruleType());
      String rule = verdict.ruleName();
      if (rule != null) {
        h.add(DecisionHeaders.RULE);
        h.add(headerSafe(rule));
      }
      if (verdict.category() != null) {
        h.add(DecisionHeaders.CATEGORY);
        h.add(headerSafe(verdict.category()));
      }
      if (threat != null) {
        h.add(DecisionHeaders.THREAT);
        h.add(headerSafe(threat));
      }
      if (facts != null && facts.fileType() != null) {
        h.add(DecisionHeaders.FILE_TYPE);
        h.add(headerSafe(facts.fileType()));
      }
    }
    return Headers.of(h.toArray(new String[0]));
  }

  private void answer204() {
    status = 204;
    if (sendsDecision()) {
      write(IcapEncoder.encode(new IcapResponse(204, "No Content", common(), null, null, BodyKind.NULL_BODY)));
    } else {
      answerStarted = true;
      socket.write(BufferInternal.buffer(s.noContent().duplicate()));
    }
  }

  /** The transaction's action for events and metrics: allow, block, redirect, error (a failed answer), none. */
  private String action() {
    return verdict.action(aborted, status);
  }

  private void answerStatus(int code, String reason) {
    plan = Plan.ANSWERED;
    status = code;
    write(IcapEncoder.encode(new IcapResponse(code, reason, common(), null, null, BodyKind.NULL_BODY)));
  }

  private void answerOptions() {
    IcapConfig c = s.icap();
    String methods = service.name();
    List<String> include = new ArrayList<>();
    include.add(c.identity().clientIpHeader());
    include.addAll(c.identity().userHeaders());
    include.add("X-Authenticated-Groups");
    Headers h = Headers.of(
        "Methods", methods,
        "Service", "Portcullis " + io.portcullis.daemon.runtime.Version.get() + " " + (service == Service.REQMOD ? "request" : "response")
            + " filter",
        "ServiceId", "portcullis-" + methods.toLowerCase(),
        "ISTag", s.istag(),
        "Max-Connections", Integer.toString(c.maxConnections()),
        "Options-TTL", Long.toString(c.optionsTtl().toSeconds()),
        "Allow", "204",
        "Preview", Integer.toString(c.preview()),
        "Transfer-Preview", "*",
        "X-Include", String.join(", ", include),
        "Date", DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().atOffset(ZoneOffset.UTC)),
        "Server", SERVER);
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", h, null, null, BodyKind.NULL_BODY)));
  }

  private void answerBlockPage() {
    plan = Plan.ANSWERED;
    IcapVerdict.Page p = verdict.page();
    BlockPage page = p.template();
    String rule = p.rule();
    Map<String, String> values = new HashMap<>();
    values.put("URL", facts.url());
    values.put("RULE_NAME", rule);
    values.put("CATEGORY", p.category());
    values.put("THREAT", p.threat());
    values.put("CLIENT_IP", clientIp);
    values.put("USER_NAME", user);
    values.put("METHOD", facts.method());
    values.put("MIME_TYPE", facts.responseMime());
    values.put("DATE", DateTimeFormatter.RFC_1123_DATE_TIME.format(Instant.now().atOffset(ZoneOffset.UTC)));
    values.put("SERVER_NAME", s.node());
    values.put("APPLICATION", "Portcullis " + io.portcullis.daemon.runtime.Version.get());
    byte[] page0 = (page == null ? BlockPage.DEFAULT : page).render(values).getBytes(StandardCharsets.UTF_8);
    HttpHead res = HttpHead.response(403, "Forbidden", Headers.of(
        "Content-Type", "text/html; charset=utf-8",
        "Content-Length", Integer.toString(page0.length),
        "Cache-Control", "no-store",
        DecisionHeaders.RULE, headerSafe(rule)));
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.RES_BODY)));
    write(IcapEncoder.chunk(page0));
    write(IcapEncoder.LAST_CHUNK);
  }

  private void answerRedirect() {
    plan = Plan.ANSWERED;
    HttpHead res = HttpHead.response(302, "Found", Headers.of(
        "Location", verdict.access().location(),
        "Content-Length", "0",
        "Cache-Control", "no-store",
        DecisionHeaders.RULE, headerSafe(verdict.access().rule())));
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.NULL_BODY)));
  }

  private static String headerSafe(String text) {
    return text == null ? "-" : text.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private void write(byte[] bytes) {
    answerStarted = true;
    socket.write(Buffer.buffer(bytes));
  }

  /** The message is consumed and its answer written: count it, record its event, get ready for the next. */
  private void finish() {
    long nanos = System.nanoTime() - started;
    String method = request.method();
    String action = action();
    metrics.transaction(lastMeters, method, action, status, nanos);
    if (!method.equals("OPTIONS") && (!clientRecordsEvent() || cutOff)) {
      String ruleType = verdict.ruleType();
      // In milliseconds, as the proxy's: Instant.now() has microseconds here, and such a time is formatted whole per
      // event (a quarter of the events thread's samples in JFR) where a millisecond one reuses its second's text.
      Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
      s.events().publish(new TrafficEvent(now, s.node(), "icap", clientIp, user,
          facts == null ? null : facts.method(), facts == null ? null : facts.url(),
          facts == null ? null : facts.host(), verdict.category(),
          ruleType.equals("none") ? null : ruleType, verdict.ruleName(),
          action, verdict.threat(), facts == null ? null : facts.responseMime(), facts == null ? null : facts.fileType(),
          status, service == Service.REQMOD ? bodyBytes : -1, service == Service.RESPMOD ? bodyBytes : -1,
          nanos / 1000, -1, nanos / 1000));
    }
    request = null;
    plan = null;
    if (body.length > 1024 * 1024) {
      body = new byte[0]; // do not hold a big scan buffer between messages
    }
    bodyLen = 0;
  }
}
