package io.portcullis.daemon.proxy.impl;

import io.portcullis.daemon.pages.BlockPage;
import io.portcullis.daemon.proxy.Answer;
import io.portcullis.daemon.proxy.Exchange;
import io.portcullis.daemon.proxy.ExchangeStep;
import io.portcullis.daemon.tls.InspectionCa;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.util.Locale;

/**
 * The proxy's own page at {@value #HOST}, a name that can never exist on the internet (RFC 6761 reserves .invalid):
 * where a user's browser, set to use the proxy, downloads the inspection CA with install instructions, as mitmproxy
 * serves mitm.it. Only through the proxy, after admission and login; no rule, ICAP service or origin sees it.
 */
record CaPage() implements ExchangeStep {
  /** The host name the page answers for. */
  static final String HOST = io.portcullis.daemon.proxy.ProxySettings.CA_PAGE_HOST;

  @Override
  public Future<Answer> request(Exchange ex) {
    if (!ex.target().origin().host().toLowerCase(Locale.ROOT).equals(HOST)) {
      return ex.next();
    }
    InspectionCa ca = ex.settings().interception() == null ? null : ex.settings().interception().ca();
    String path = ex.target().path();
    int query = path.indexOf('?');
    path = query < 0 ? path : path.substring(0, query);
    HttpMethod m = ex.request().method();
    ex.record().code = "TCP_INTERNAL";
    if (m != HttpMethod.GET && m != HttpMethod.HEAD) {
      return Future.succeededFuture(ex.page(405, "Method not allowed", "This page only shows the CA.", false));
    }
    if (ca == null) {
      return Future.succeededFuture(ex.page(503, "No CA yet", "This node has no inspection CA yet.", false));
    }
    try {
      return Future.succeededFuture(switch (path) {
        case "/" -> content("text/html; charset=utf-8", html(ca, ex.settings().node()).getBytes(StandardCharsets.UTF_8),
            null);
        case "/ca.pem" -> content("application/x-pem-file", ca.certificatePem().getBytes(StandardCharsets.US_ASCII),
            "portcullis-ca.pem");
        case "/ca.crt" -> content("application/x-x509-ca-cert", ca.certificate().getEncoded(), "portcullis-ca.crt");
        default -> ex.page(404, "Not found", "This page has the CA at /ca.pem and /ca.crt.", false);
      });
    } catch (CertificateEncodingException e) {
      return Future.succeededFuture(ex.page(500, "Internal error", "The CA cannot be encoded.", false));
    }
  }

  /** A 200 of {@code type} carrying {@code body}, a download named {@code file} if not null; never cached. */
  private static Answer content(String type, byte[] body, String file) {
    return new Answer() {
      @Override
      public void send(Exchange ex) {
        var r = ex.request().response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, type)
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-store");
        if (file != null) {
          r.putHeader("Content-Disposition", "attachment; filename=\"" + file + "\"");
        }
        if (ex.request().method() == HttpMethod.HEAD) {
          r.putHeader(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length)).end();
        } else {
          r.end(Buffer.buffer(body));
        }
      }

      @Override
      public void discard() {
      }
    };
  }

  /** The page: what the CA is for, its fingerprint, the downloads and how to install each. */
  static String html(InspectionCa ca, String node) {
    String subject = ca.certificate().getSubjectX500Principal().getName();
    return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Install the Portcullis CA</title>
        <style>body{font-family:sans-serif;max-width:46em;margin:2em auto;line-height:1.5}code{word-break:break-all}</style>
        </head><body>
        <h1>Install the web gateway's certificate authority</h1>
        <p>This network's web gateway (node %s) can inspect HTTPS pages for threats and policy. For that, your device
        must trust its certificate authority. Install it only if your administrator asked you to.</p>
        <p>CA: <code>%s</code><br>SHA-256 fingerprint: <code>%s</code><br>
        Compare the fingerprint with the one your administrator gave you before you trust it.</p>
        <ul>
        <li><a href="/ca.crt">portcullis-ca.crt</a> (DER): <b>Windows</b>: open it, Install Certificate, Local Machine,
        "Trusted Root Certification Authorities". <b>Android</b>: Settings, Security, Encryption &amp; credentials,
        Install a certificate, CA certificate. <b>iOS</b>: open it, install the profile, then Settings, General,
        About, Certificate Trust Settings, turn it on.</li>
        <li><a href="/ca.pem">portcullis-ca.pem</a> (PEM): <b>macOS</b>: open it in Keychain Access (System), set
        "Always Trust". <b>Linux</b>: copy it to /usr/local/share/ca-certificates/portcullis-ca.crt and run
        update-ca-certificates. <b>Firefox</b> (its own store): Settings, Privacy &amp; Security, Certificates, View
        Certificates, Authorities, Import, "Trust this CA to identify websites".</li>
        </ul>
        <p>Managed devices get it from your administrator (group policy or device management) without this page.</p>
        </body></html>
        """.formatted(BlockPage.escape(node), BlockPage.escape(subject), BlockPage.escape(ca.fingerprint()));
  }
}
