package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Calls the daemon's admin API with its bearer token. */
public final class AdminClient {
  static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http;
  private final URI base;
  private final String token;
  private final String user;
  private final String source;

  /** An answer of the admin API: its status and JSON body. */
  public record Answer(int status, JsonNode body) {
    public boolean ok() {
      return status / 100 == 2;
    }
  }

  public AdminClient(URI base, String token, String user) {
    this(base, token, user, null);
  }

  /** As above, for a console the daemon serves over SSH: {@code source} is the SSH client's address, for the audit. */
  public AdminClient(URI base, String token, String user, String source) {
    this(base, token, user, source, null);
  }

  /** As above, over TLS trusting {@code tls} (null: the JDK's trust store). */
  public AdminClient(URI base, String token, String user, String source, javax.net.ssl.SSLContext tls) {
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      b.sslContext(tls);
    }
    this.http = b.build();
    this.base = base;
    this.token = token;
    this.user = user;
    this.source = source;
  }

  /** A TLS context that trusts the certificates in the PEM file {@code pem} (the node's own admin certificate). */
  public static javax.net.ssl.SSLContext trusting(java.nio.file.Path pem)
      throws IOException, java.security.GeneralSecurityException {
    java.security.KeyStore ks = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
    ks.load(null, null);
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(pem)) {
      int i = 0;
      for (java.security.cert.Certificate c : java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificates(in)) {
        ks.setCertificateEntry("admin-" + i++, c);
      }
      if (i == 0) {
        throw new java.security.GeneralSecurityException("no certificate in " + pem);
      }
    }
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  public Answer get(String path) throws IOException, InterruptedException {
    return send("GET", path, null);
  }

  /** A GET whose body is text (e.g. an exported haproxy.cfg); an error's JSON comes back as its text. */
  public HttpResponse<String> text(String path) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(1))
        .header("Authorization", "Bearer " + token).header("X-Portcullis-User", user).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  public Answer send(String method, String path, ObjectNode body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(5))
        .header("Authorization", "Bearer " + token)
        .header("X-Portcullis-User", user)
        .header("X-Portcullis-Source", source == null ? "" : source)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json;
    try {
      json = r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
    } catch (IOException e) {
      json = JSON.createObjectNode().put("error", r.body());
    }
    return new Answer(r.statusCode(), json);
  }
}
