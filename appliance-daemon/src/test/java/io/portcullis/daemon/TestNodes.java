package io.portcullis.daemon;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Helpers to run real nodes on loopback with free ports, and to talk to their admin API. */
final class TestNodes {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private TestNodes() {
  }

  /** A config with every listener on loopback at a free port. */
  static String config(int admin, int proxy, int icap) {
    return "node: { name: test-node, shutdownGrace: 2s }\n"
        + "admin: { listen: 127.0.0.1:" + admin + " }\n"
        + "proxy: { listen: 127.0.0.1:" + proxy + ", deniedDestinations: [] }\n"
        + "icap: { listen: 127.0.0.1:" + icap + " }\n";
  }

  /** An HTTP answer: status and body. */
  record Answer(int status, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }
  }

  static Answer call(String method, String url, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new Answer(r.statusCode(), r.body());
  }

  static String token(Path dataDir) throws IOException {
    return Files.readString(dataDir.resolve("admin.token")).strip();
  }
}
