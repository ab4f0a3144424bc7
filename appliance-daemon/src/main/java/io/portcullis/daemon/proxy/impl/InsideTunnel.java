package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.config.HostPort;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.proxy.Target;
import io.vertx.core.Future;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.Locale;

/**
 * Where a request decrypted inside an inspected tunnel goes, in place of authentication and targeting: its user is
 * the tunnel's (the CONNECT was authenticated), its target the https URL of the tunnel's origin and its own path.
 * A request for another host than the one the tunnel's TLS was for is refused with 421 (RFC 9110 15.5.20): it could
 * reach a host no rule judged. An origin whose certificate was not trusted gets no request: our 502 page names why.
 */
record InsideTunnel() implements ExchangeStep {
  @Override
  public Future<Answer> request(Exchange ex) {
    HttpServerRequest req = ex.request();
    Bump.Inspected in = DefaultExchange.channel(req).attr(Bump.INSPECTED).get();
    ex.record().user = in.user();
    ex.record().tls = in.refusal() == null ? "inspect" : "error";
    ex.record().sni = in.sni();
    String uri = req.uri();
    String path;
    String authority = req.authority() == null ? null : req.authority().toString();
    if (uri.startsWith("/")) {
      path = uri;
    } else if (uri.regionMatches(true, 0, "https://", 0, 8)) {
      int slash = uri.indexOf('/', 8);
      authority = slash < 0 ? uri.substring(8) : uri.substring(8, slash);
      path = slash < 0 ? "/" : uri.substring(slash);
    } else {
      return refuse(ex, 400, "Bad request", req.method() == HttpMethod.CONNECT
          ? "A CONNECT inside a tunnel is not served." : "The request line needs a path.");
    }
    if (authority == null) {
      // An HTTP/1.0 request without Host: the tunnel's host is the one it can only mean.
      authority = in.origin().port() == 443 ? in.host() : in.host() + ":" + in.origin().port();
    }
    HostPort asked = Target.hostPort(authority, 443);
    if (asked == null || !sameHost(asked.host(), in.host()) || portOf(authority, in.origin().port())
        != in.origin().port()) {
      ex.record().host = in.host();
      ex.record().decide("block", "proxy.tls: a request for another host than the tunnel's");
      return refuse(ex, 421, "Misdirected request", "This connection is for " + in.host() + " only.");
    }
    Target target = new Target("https", new HostPort(in.host(), in.origin().port()), authority, path);
    ex.target(target);
    ex.record().host = in.host();
    if (in.refusal() != null) {
      ex.record().decide("error", "proxy.tls: origin not trusted");
      return refuse(ex, 502, "Untrusted web site", "The web server " + in.host() + " cannot be trusted: "
          + in.refusal() + ".");
    }
    req.pause();
    ex.head(Relay.head(req.method().name() + " " + target.uri() + " HTTP/1.1", req.headers(), authority), false);
    return ex.next();
  }

  /**
   * The port an authority names: its own, or, when it names none, the tunnel's (a browser leaves out only 443; a
   * client that leaves out another can mean no other port on this connection).
   */
  private static int portOf(String authority, int tunnelPort) {
    int close = authority.lastIndexOf(']');
    int colon = authority.lastIndexOf(':');
    return colon > close ? Target.hostPort(authority, 443).port() : tunnelPort;
  }

  private static boolean sameHost(String a, String b) {
    String x = a.toLowerCase(Locale.ROOT);
    String y = b.toLowerCase(Locale.ROOT);
    return strip(x).equals(strip(y));
  }

  private static String strip(String h) {
    String s = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  private static Future<Answer> refuse(Exchange ex, int status, String title, String detail) {
    return Future.succeededFuture(ex.page(status, title, detail, status != 502));
  }
}
