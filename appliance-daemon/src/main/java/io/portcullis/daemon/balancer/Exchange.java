package io.portcullis.daemon.balancer;

import io.netty.buffer.ByteBuf;
import io.portcullis.daemon.http1.Http1Framing;
import java.util.HashSet;
import java.util.Set;

/**
 * One request through the relay, from its head to the end of its answer: what its head said, the servers it was
 * tried on (each counted active on its server until done), how far its answer got, and what follows from that for
 * the two connections. A new one for each request, so that nothing of the last one lingers.
 */
final class Exchange {
  boolean http11;
  boolean headMethod;
  boolean connect;
  boolean requestDone;
  boolean clientClose; // the client's Connection (or its version) says this is its last request
  boolean keepAlive10;
  boolean retryable; // the request may be sent again after a server closed without answering
  boolean responseStarted;
  boolean headSent; // an answer's head went to the client: a failure now can only close
  boolean closeAfter;
  Frontend frontend;
  ByteBuf sentHead; // the rewritten head, kept while the request may be sent again
  private Server server;
  private Set<Server> tried;
  private int attempt;
  private boolean counted; // the request is counted on server (active): uncounted exactly once

  /** Takes what the request head said: its method and version. */
  void request(String method, Http1Framing framing) {
    http11 = framing.http11();
    connect = framing.connect();
    headMethod = method.equals("HEAD");
    retryable = requestDone && !connect && (method.equals("GET") || headMethod || method.equals("OPTIONS")
        || method.equals("TRACE"));
  }

  /** Takes what the Connection of the request said, as its rewrite in {@code heads} read it. */
  void connection(Heads heads, boolean draining) {
    clientClose = draining || (http11 ? heads.close : !heads.keepAlive || heads.close);
    keepAlive10 = !http11 && heads.keepAlive && !heads.close;
  }

  /** The server the request went to last. */
  Server server() {
    return server;
  }

  /** The next server the frontend's method picks among those not tried, counted active on it; null if none is up. */
  Server pick(int hash) {
    Server s = frontend.open(hash, tried);
    if (s != null) {
      server = s;
      counted = true;
    }
    return s;
  }

  /** How many servers failed the request so far. */
  int failedServers() {
    return tried == null ? 0 : tried.size();
  }

  /** Whether the request may go to another server after the last one failed (its head is still kept). */
  boolean retry() {
    if (attempt >= frontend.config().retries() || sentHead == null) {
      return false;
    }
    if (tried == null) {
      tried = new HashSet<>();
    }
    tried.add(server);
    attempt++;
    return true;
  }

  /** Counts the request out of its server's active ones, once; {@code failed}: as the server's failure too. */
  void done(boolean failed) {
    if (counted) {
      counted = false;
      server.stats().closed();
      if (failed) {
        server.stats().failed();
      }
    }
  }

  /** Whether the request is still counted on its server. */
  boolean counted() {
    return counted;
  }

  /**
   * Whether the client connection ends with the final response {@code response} frames: when the client says so,
   * when its request is still coming (the server answered early: the rest of its body cannot be told from a next
   * request), when the body ends only by the close, when an HTTP/1.0 client did not ask to keep it, or after a
   * CONNECT that made no tunnel (what the client sends next was meant for a tunnel).
   */
  boolean closeAfter(Http1Framing response, boolean draining) {
    return clientClose || draining || !requestDone || response.closeDelimited() || (!http11 && !keepAlive10)
        || connect;
  }

  /**
   * Whether the server connection may serve another request after this response: the server keeps it, and it is
   * clean. An HTTP/1.0 request went without keep-alive (its Connection header is the client's, dropped): never.
   */
  boolean reusable(Http1Framing response, boolean dirty) {
    return response.persistent() && requestDone && http11 && !dirty;
  }

  /** Lets go of the kept head. */
  void releaseSent() {
    if (sentHead != null) {
      sentHead.release();
      sentHead = null;
    }
  }
}
