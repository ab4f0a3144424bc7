package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.events.TrafficEvent;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.DecisionHeaders;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.FileTypes;
import io.portcullis.daemon.scan.ScanResult;
import java.nio.ByteBuffer;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ICAP message and its answer, from its head to its end, on its connection's event loop. It reaches its
 * connection only through {@link IcapWire}, and the rules only through {@link IcapDecider}. REQMOD: bypass, then access rules on the
 * request. RESPMOD: bypass, access rules and protection on the request plus the response's type, true file type
 * (first bytes), name and size; a body to scan is collected whole, up to {@code scan.maxSize}. A pass is 204 when
 * allowed (in a preview, or with {@code Allow: 204}), else a 200 carrying the message, streamed with back-pressure.
 */
final class IcapTransaction {
  private static final Logger LOG = LoggerFactory.getLogger(IcapTransaction.class);
  /** Body bytes past which a scanned answer's head goes out before the scan ends (see {@link #headEarly}). */
  static final int EARLY_HEAD = 32 * 1024;
  /** While a scan waits, one body byte goes out per this many received (see {@link #headEarly}). */
  static final int KICK_EVERY = 16 * 1024;
  /** What a body gets, as a scan result, when the node holds icap.maxBufferedBytes to scan already. */
  static final ScanResult BUFFERS_FULL = new ScanResult.Failed(
      "the ICAP server holds icap.maxBufferedBytes to scan already", "icap");

  /** What the ICAP service at the request's URI modifies: requests or responses. */
  private enum Modification { REQMOD, RESPMOD }

  /** What the message waits for. */
  private enum Plan {
    OPTIONS,  // answer at End
    ANSWERED, // a final answer went out: drop the rest of the body
    WAIT_204, // answer 204 at the preview's end or at End
    ECHO,     // a 200 with the message went out; body chunks follow as they come
    SNIFF,    // collecting the body's first bytes to decide
    COLLECT,  // collecting the whole body to scan it
    SCANNING  // the scan runs; the connection waits
  }

  private final IcapWire wire;
  private final IcapRequest request;
  private final IcapSettings s;
  private final BodyBuffer body;
  private final long started = System.nanoTime();
  private final Requester who;
  private final Modification modification;
  private Plan plan;
  private long bodyBytes;
  private int status;
  private IcapVerdict verdict = IcapVerdict.NONE;
  private Facts facts;
  private boolean answerStarted;
  private boolean cutOff; // a threat found after the 200 went out: the answer was cut off
  private boolean aborted; // the client closed the connection before the answer was complete
  private boolean inPreview;
  private boolean headSent;
  private IcapVerdict blockAtPreviewEnd; // collecting stopped inside a preview with a block: answered at its end
  private int released; // body bytes of a scanned answer sent before its scan ended (see headEarly)

  /** A transaction for {@code request}, under the settings {@code s} of its head's arrival; {@code body} is empty. */
  IcapTransaction(IcapWire wire, IcapRequest request, IcapSettings s, BodyBuffer body) {
    this.wire = wire;
    this.request = request;
    this.s = s;
    this.body = body;
    this.inPreview = request.hasPreview();
    this.who = Requester.of(request.headers(), s.icap().identity());
    this.modification = switch (request.servicePath()) {
      case "/av/reqmod", "/reqmod" -> Modification.REQMOD;
      case "/av/respmod", "/respmod" -> Modification.RESPMOD;
      default -> null;
    };
  }

  /** True once a final answer began: a bad request can then no longer be answered 400. */
  boolean answerStarted() {
    return answerStarted;
  }

  // ---- head -----------------------------------------------------------------------------------------------------

  /** The head is whole: answers what it can decide now, else plans for the body. */
  void onHead() {
    IcapRequest r = request;
    if (modification == null) {
      answerStatus(404, "Service Not Found");
      return;
    }
    if (r.method().equals("OPTIONS")) {
      plan = Plan.OPTIONS;
      return;
    }
    if (!r.method().equals(modification.name())) {
      answerStatus(405, "Method Not Allowed");
      return;
    }
    HttpHead http = r.httpRequest();
    facts = http == null ? new Facts("GET", "", who.clientIp(), who.user(), who.groups(), null, Instant.now())
        : Facts.ofRequest(http, who.clientIp(), who.user(), who.groups(), Instant.now());
    verdict = IcapDecider.onRequest(s.policy(), facts, modification == Modification.REQMOD, r.body().hasBody());
    if (verdict.step() != IcapVerdict.Step.NEEDS_BODY) {
      act(false);
    } else if (r.body().hasBody()) {
      plan = Plan.SNIFF; // its first bytes tell its true type
    } else {
      facts.withResponse(r.httpResponse(), null, 0, -1); // RESPMOD without a body: its head is all there is
      decideBody(false);
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
    if (modification == Modification.REQMOD) {
      facts.withRequestBody(request.httpRequest(), body.bytes(), body.length(), size);
    } else {
      facts.withResponse(request.httpResponse(), body.bytes(), body.length(), size);
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
    write(IcapAnswers.CONTINUE);
    answerStarted = false; // 100 is interim: a final answer may still be a 400
    wire.continueBody();
  }

  /** The message passes; the body bytes collected so far (if any) go out first. */
  private void passWithSniffed(boolean atPause) {
    if (atPause) {
      answer204();
      finish();
      wire.skipBody();
      return;
    }
    pass();
    if (plan == Plan.ECHO && body.length() > 0) {
      writeChunk(body.view(0, body.length()));
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

  // ---- body, end, preview ---------------------------------------------------------------------------------------

  /** A piece of the body arrived (a view into the connection's input, not copied). */
  void onBody(ByteBuffer data) {
    bodyBytes += data.remaining();
    switch (plan) {
      case ECHO -> writeChunk(data);
      case SNIFF -> {
        body.append(data, s.scanner().maxSize());
        if (body.length() >= FileTypes.HEAD) {
          sniffed(-1);
          decideBody(false);
        }
      }
      case COLLECT -> collect(data);
      default -> {
      }
    }
  }

  /** Collects a body to scan, while it stays within scan.maxSize and the node's icap.maxBufferedBytes. */
  private void collect(ByteBuffer data) {
    if (body.length() + (long) data.remaining() > s.scanner().maxSize()) {
      // Past the scan limit (no Content-Length told us before): scan.overMaxSize blocks, or passes it unscanned.
      stopCollecting(IcapDecider.overMaxSize(verdict, scanLimit()), data);
      return;
    }
    if (!body.reserve(data.remaining(), s.icap().maxBufferedBytes())) {
      // Too much held to scan on the whole node: refused rather than grown, as a failed scan (the rule's onError).
      wire.scanBuffersFull();
      LOG.debug("not scanned, icap.maxBufferedBytes reached: {}", Logs.escape(facts.url()));
      stopCollecting(IcapDecider.onScan(verdict, BUFFERS_FULL), data);
      return;
    }
    body.append(data, s.scanner().maxSize());
    headEarly();
  }

  /** The body will not be scanned after all ({@code data} is its piece that did not fit): {@code over} decides. */
  private void stopCollecting(IcapVerdict over, ByteBuffer data) {
    if (over.step() == IcapVerdict.Step.BLOCK) {
      if (headSent) {
        cutOff = true; // the early head is out (see headEarly): only a cut can stop it now
        verdict = over;
        finish();
        wire.cut();
      } else if (inPreview) {
        blockAtPreviewEnd = over; // the answer (and so the verdict) must wait for the preview's end
      } else {
        verdict = over;
        answerBlockPage();
      }
      return;
    }
    verdict = over;
    if (inPreview) {
      plan = Plan.WAIT_204; // nothing went out yet: 204 at the preview's end, the client keeps its copy
      return;
    }
    plan = Plan.ECHO;
    if (!headSent) {
      writeEchoHead();
      headSent = true;
    }
    writeChunk(body.view(released, body.length()));
    writeChunk(data);
  }

  /**
   * Without {@code Allow: 204} the answer to a scanned body is a 200 carrying it, and Squid hands over only the start
   * of a body until that answer starts, then reads on from the origin only while the answer's body moves (a large
   * download stalls with the head alone). So once more than {@link #EARLY_HEAD} bytes are in, the head (the HTTP head
   * unchanged) goes out, then one body byte per {@link #KICK_EVERY} received (the file's first bytes); the rest waits
   * for the scan. A threat found then cuts the answer off with only those bytes out: the user's download fails
   * instead of showing the block page, which needs a head of its own. A body that fits in {@code EARLY_HEAD} (or any
   * body when the client allows 204) waits whole, and a threat gets the block page.
   */
  private void headEarly() {
    if (inPreview || request.headers().hasToken("Allow", "204") || body.length() <= EARLY_HEAD) {
      return; // in a preview the answer must wait for its end: a 200 now would put "100 Continue" inside its body
    }
    if (!headSent) {
      writeEchoHead();
      headSent = true;
    }
    int due = body.length() / KICK_EVERY;
    if (due > released) {
      writeChunk(body.view(released, due));
      released = due;
    }
  }

  /** The message is whole: answers it, or starts its scan. */
  void onEnd() {
    switch (plan) {
      case OPTIONS -> answerOptions();
      case WAIT_204 -> answer204();
      case ECHO -> {
        if (request.body().hasBody()) {
          write(IcapEncoder.LAST_CHUNK);
        }
      }
      case SNIFF -> {
        sniffed(body.length());
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

  /** The preview is in and the client waits: answer finally (and skip the rest), or ask for the rest. */
  void onPreviewEnd() {
    switch (plan) {
      case OPTIONS -> {
        answerOptions();
        finish();
        wire.skipBody();
      }
      case WAIT_204 -> {
        answer204();
        finish();
        wire.skipBody();
      }
      case ANSWERED -> {
        finish();
        wire.skipBody();
      }
      case SNIFF -> {
        sniffed(-1);
        decideBody(true);
        if (plan == Plan.ANSWERED) {
          finish();
          wire.skipBody();
        }
      }
      case COLLECT -> {
        if (blockAtPreviewEnd != null) {
          verdict = blockAtPreviewEnd;
          answerBlockPage();
          finish();
          wire.skipBody();
        } else {
          continueAfterPreview();
        }
      }
      default -> {
        // Not reached: other plans never meet a preview. Ask for the rest rather than stall the client.
        write(IcapAnswers.CONTINUE);
        wire.continueBody();
      }
    }
  }

  /** The whole body is in: scan it, the connection waiting meanwhile. */
  private void startScan() {
    plan = Plan.SCANNING;
    wire.awaitScan(() -> {
      // An upload form is also scanned part by part: each file from its first byte.
      String uploadType = modification == Modification.REQMOD && request.httpRequest() != null
          ? request.httpRequest().headers().get("Content-Type") : null;
      return s.scanner().scan(body.bytes(), body.length(), uploadType);
    }, this::afterScan);
  }

  /** Answers by the scan's result: the block page (or a cut, if the head is out), else the message unchanged. */
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
      wire.cut();
      return;
    }
    if (block) {
      answerBlockPage();
    } else if (headSent) {
      writeChunk(body.view(released, body.length()));
      write(IcapEncoder.LAST_CHUNK);
    } else if (request.headers().hasToken("Allow", "204")) {
      answer204();
    } else {
      writeEchoHead();
      writeChunk(body.view(0, body.length()));
      write(IcapEncoder.LAST_CHUNK);
    }
    finish();
  }

  // ---- answers --------------------------------------------------------------------------------------------------

  /** Whether the client is our proxy, which records the traffic event itself (see {@link DecisionHeaders#EVENTS}). */
  private boolean clientRecordsEvent() {
    return request.headers().contains(DecisionHeaders.EVENTS);
  }

  /** The action to tell our proxy in decision headers, or null: other clients, or a plain allow, get none. */
  private String told() {
    if (!clientRecordsEvent()) {
      return null;
    }
    String action = action();
    return IcapAnswers.worthTelling(verdict, action, fileType()) ? action : null;
  }

  /** The ICAP headers of a final answer now (see {@link IcapAnswers#headers}). */
  private Headers common() {
    return IcapAnswers.headers(s.istag(), verdict, fileType(), told());
  }

  /** The transaction's action for events and metrics: allow, block, redirect, error (a failed answer), none. */
  private String action() {
    return verdict.action(aborted, status);
  }

  /** The body's true file type, or null (none sniffed, or no rules ran). */
  private String fileType() {
    return facts == null ? null : facts.fileType();
  }

  /** 204: the message unchanged; the shared, pre-encoded answer unless there is a decision to tell. */
  private void answer204() {
    status = 204;
    String told = told();
    if (told != null) {
      Headers h = IcapAnswers.headers(s.istag(), verdict, fileType(), told);
      write(IcapEncoder.encode(new IcapResponse(204, "No Content", h, null, null, BodyKind.NULL_BODY)));
    } else {
      answerStarted = true;
      wire.send(s.noContent().duplicate());
    }
  }

  /** A final answer without a body, e.g. 404 or 405. */
  private void answerStatus(int code, String reason) {
    plan = Plan.ANSWERED;
    status = code;
    write(IcapEncoder.encode(new IcapResponse(code, reason, common(), null, null, BodyKind.NULL_BODY)));
  }

  /** The service's OPTIONS answer. */
  private void answerOptions() {
    status = 200;
    write(IcapAnswers.options(s.icap(), s.istag(), modification.name()));
  }

  /** A 200 carrying the verdict's block page as the HTTP response. */
  private void answerBlockPage() {
    plan = Plan.ANSWERED;
    IcapVerdict.Page page = verdict.page();
    byte[] html = IcapAnswers.blockPage(page, facts, who, s.node());
    HttpHead res = IcapAnswers.blockHead(page.rule(), html.length);
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.RES_BODY)));
    write(IcapEncoder.chunk(html));
    write(IcapEncoder.LAST_CHUNK);
  }

  /** A 200 carrying a 302 to the access rule's location. */
  private void answerRedirect() {
    plan = Plan.ANSWERED;
    HttpHead res = IcapAnswers.redirectHead(verdict.access());
    status = 200;
    write(IcapEncoder.encode(new IcapResponse(200, "OK", common(), null, res, BodyKind.NULL_BODY)));
  }

  /** The head of a 200 carrying the message unchanged; its body's chunks follow. */
  private void writeEchoHead() {
    IcapRequest r = request;
    BodyKind kind = !r.body().hasBody() ? BodyKind.NULL_BODY
        : modification == Modification.REQMOD ? BodyKind.REQ_BODY : BodyKind.RES_BODY;
    IcapResponse echo = modification == Modification.REQMOD
        ? new IcapResponse(200, "OK", common(), r.httpRequest(), null, kind)
        : new IcapResponse(200, "OK", common(), null, r.httpResponse(), kind);
    status = 200;
    write(IcapEncoder.encode(echo));
  }

  /** One body chunk of the answer, unless empty. */
  private void writeChunk(ByteBuffer data) {
    if (data.remaining() == 0) {
      return;
    }
    answerStarted = true;
    wire.sendChunk(data);
  }

  /** Answer bytes: the answer has begun. */
  private void write(byte[] bytes) {
    answerStarted = true;
    wire.send(bytes);
  }

  // ---- end ------------------------------------------------------------------------------------------------------

  /** The client closed the connection mid-transaction (Squid: the user did): still one event, as an error. */
  void abort() {
    aborted = true;
    finish();
  }

  /** The message is consumed and its answer written: count it, record its event, free the connection. */
  private void finish() {
    long nanos = System.nanoTime() - started;
    String method = request.method();
    String action = action();
    wire.finished(method, action, status, nanos);
    plan = null; // over: nothing more is planned
    if (!method.equals("OPTIONS") && (!clientRecordsEvent() || cutOff)) {
      String ruleType = verdict.ruleType();
      // In milliseconds, as the proxy's: Instant.now() has microseconds here, and such a time is formatted whole per
      // event, a large share of the events thread's work, where a millisecond one reuses its second's text.
      Instant now = Instant.ofEpochMilli(System.currentTimeMillis());
      s.events().publish(new TrafficEvent(now, s.node(), "icap", who.clientIp(), who.user(),
          facts == null ? null : facts.method(), facts == null ? null : facts.url(),
          facts == null ? null : facts.host(), verdict.category(),
          ruleType.equals("none") ? null : ruleType, verdict.ruleName(),
          action, verdict.threat(), facts == null ? null : facts.responseMime(), fileType(),
          status, modification == Modification.REQMOD ? bodyBytes : -1, modification == Modification.RESPMOD ? bodyBytes : -1,
          nanos / 1000, -1, nanos / 1000, null, null, TrafficEvent.groups(who.groups())));
    }
  }
}
