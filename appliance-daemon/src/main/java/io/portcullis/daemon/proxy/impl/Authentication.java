package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.ProxyConfig;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.BasicAuth;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proxy authentication (proxy.auth): Basic credentials checked against the users, remembered once right, the same
 * wrong ones refused without a new check, and a client address locked out after repeated failures.
 */
record Authentication(Vertx vertx) implements ExchangeStep {
  private static final Logger LOG = LoggerFactory.getLogger(Authentication.class);

  @Override
  public Future<Answer> request(Exchange ex) {
    BasicAuth auth = ex.settings().auth();
    if (auth == null) {
      return ex.next();
    }
    HttpServerRequest req = ex.request();
    // One Kerberos login per connection: the connection's user serves its later requests, while the settings it
    // logged in under hold (a commit logs it in again).
    Negotiated negotiated = DefaultExchange.channel(req).attr(NEGOTIATED).get();
    if (negotiated != null && negotiated.auth() == auth) {
      ex.record().user = negotiated.user();
      return ex.next();
    }
    String credentials = req.getHeader("Proxy-Authorization");
    if (credentials != null && auth.negotiate() != null && credentials.regionMatches(true, 0, "Negotiate ", 0, 10)) {
      return negotiate(ex, auth, credentials);
    }
    BasicAuth.User known = auth.remembered(credentials);
    if (known != null) {
      ex.record().user = known;
      return ex.next();
    }
    if (credentials == null) {
      return challenge(ex, auth, false);
    }
    String from = ex.record().client == null ? "-" : ex.record().client;
    Future<Answer> locked = lockedOut(ex, from);
    if (locked != null) {
      return locked;
    }
    if (auth.knownWrong(credentials)) {
      return challenge(ex, auth, true); // the same wrong password again (a page's every resource): no new failure
    }
    req.pause();
    // onDirectoryDown: refuse fails closed: while the directory is down, local users are refused too.
    boolean failClosed = auth.directory() != null && auth.directory().downBecause() != null
        && ex.settings().proxy().auth().onDirectoryDown() == ProxyConfig.ProxyAuth.OnDirectoryDown.REFUSE
        && auth.local(credentials);
    // Checking a crypt hash takes milliseconds of CPU by design, a directory a round trip: a worker thread.
    return vertx.executeBlocking(() -> {
      if (failClosed) {
        auth.directory().probe(); // back up since: the local user is checked as usual
      }
      return auth.check(credentials);
    }, false).transform(ar -> {
      if (ex.over()) {
        return Future.succeededFuture(Answer.NONE);
      }
      if (ar.succeeded() && ar.result() != null) {
        ex.record().user = ar.result();
        return ex.next();
      }
      if (ar.failed() && ar.cause() instanceof io.portcullis.daemon.identity.Directory.Down down) {
        return directoryDown(ex, down);
      }
      return failed(ex, auth, from);
    });
  }

  /** A Kerberos ticket (SPNEGO): checked off the event loop; the user it proves is the connection's from then on. */
  private Future<Answer> negotiate(Exchange ex, BasicAuth auth, String credentials) {
    HttpServerRequest req = ex.request();
    String from = ex.record().client == null ? "-" : ex.record().client;
    Future<Answer> locked = lockedOut(ex, from);
    if (locked != null) {
      return locked;
    }
    req.pause();
    return vertx.executeBlocking(() -> auth.negotiated(credentials), false).transform(ar -> {
      if (ex.over()) {
        return Future.succeededFuture(Answer.NONE);
      }
      if (ar.succeeded() && ar.result() != null) {
        // Not for a forwarder's connection (proxy.followXForwardedFor): it carries many users.
        String peer = req.remoteAddress() == null ? null : req.remoteAddress().hostAddress();
        if (peer != null && peer.equals(ex.record().client)) {
          DefaultExchange.channel(req).attr(NEGOTIATED).set(new Negotiated(auth, ar.result()));
        }
        ex.record().user = ar.result();
        return ex.next();
      }
      if (ar.failed() && ar.cause() instanceof io.portcullis.daemon.identity.Directory.Down down) {
        return directoryDown(ex, down);
      }
      // A bad ticket (garbage, a replay, another service's, expired): said why in the log, not to the client. One
      // the node's setup refuses (RC4, a stale keytab) refuses everyone: a warning, at most once a minute.
      String fix = ar.failed() ? io.portcullis.daemon.identity.Negotiate.setupProblem(ar.cause()) : null;
      if (fix != null && auth.setupWarningDue()) {
        LOG.warn("proxy authentication: Kerberos tickets refused: {}", fix);
      }
      LOG.debug("proxy authentication: a Negotiate token from {} refused: {}", from,
          ar.failed() ? ar.cause().getMessage() : "not complete");
      return failed(ex, auth, from);
    });
  }

  /** 429 while {@code from} is locked out (proxy.auth.lockout), else null. */
  private static Future<Answer> lockedOut(Exchange ex, String from) {
    long locked = ex.settings().logins().lockedFor(from);
    if (locked <= 0) {
      return null;
    }
    ex.record().decide("block", "proxy.auth.lockout");
    ex.request().response().putHeader("Retry-After", Long.toString(locked));
    return Future.succeededFuture(ex.page(429, "Too many failed logins", "Too many failed logins came from your "
        + "address: try again in " + locked + " seconds.", closes(ex.request())));
  }

  /** The directory could not be reached: a 503 page, not a wrong password. */
  private static Future<Answer> directoryDown(Exchange ex, io.portcullis.daemon.identity.Directory.Down down) {
    LOG.debug("proxy authentication: {}", down.getMessage());
    ex.record().decide("error", "proxy.auth.ldap");
    return Future.succeededFuture(ex.page(503, "Login unavailable", "The directory that checks logins cannot be "
        + "reached; try again shortly.", closes(ex.request())));
  }

  /** A failed login: counted against {@code from} (proxy.auth.lockout), then 407 again. */
  private static Future<Answer> failed(Exchange ex, BasicAuth auth, String from) {
    ProxyConfig.ProxyAuth a = ex.settings().proxy().auth();
    if (ex.settings().logins().failed(from, a.lockout())) {
      LOG.warn("proxy authentication: {} locked out for {} after {} failed logins", from, a.lockout().duration(),
          a.lockout().maxFailures());
    }
    return challenge(ex, auth, true);
  }

  /** The user a connection proved with Kerberos, and the settings it did under. */
  record Negotiated(BasicAuth auth, BasicAuth.User user) {
  }

  /** The user a connection proved with Kerberos: one login per connection, not per request. */
  static final io.netty.util.AttributeKey<Negotiated> NEGOTIATED =
      io.netty.util.AttributeKey.valueOf("portcullis.negotiated");

  /**
   * 407 with our page and the challenges (Negotiate first when on, then Basic); the connection stays open unless a
   * body would have to be read.
   */
  private static Future<Answer> challenge(Exchange ex, BasicAuth auth, boolean wrong) {
    ex.record().decide("block", "proxy.auth");
    ex.request().response().headers().add("Proxy-Authenticate", auth.challenges());
    return Future.succeededFuture(ex.page(407, "Proxy authentication required", wrong
        ? "The user name or password is not right." : "This proxy needs your user name and password.",
        closes(ex.request())));
  }

  /** A request whose body is unread (or a CONNECT) cannot leave the connection reusable. */
  static boolean closes(HttpServerRequest req) {
    return Targeting.hasBody(req) || req.method() == HttpMethod.CONNECT;
  }
}
