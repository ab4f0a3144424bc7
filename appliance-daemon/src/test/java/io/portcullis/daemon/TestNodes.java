package io.portcullis.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Host;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The in-process node fixture: start real nodes on loopback, commit to them, talk to their admin API. A test stops
 * what it started through {@link io.portcullis.testsupport.Cleanup} ({@code cleanup.add(daemon, Daemon::stop)}).
 */
public final class TestNodes {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private TestNodes() {
  }

  /** A node on {@code yaml} with its data in {@code dataDir}, no config file (commits stay in the data dir). */
  public static Daemon start(Path dataDir, String yaml) throws Exception {
    return Daemon.start(new Daemon.Options(dataDir, null), yaml, ConfigLoader.parse(yaml), "test");
  }

  /** A node on {@code yaml}, written to {@code file} first (relative paths in it are from there; commits rewrite it). */
  public static Daemon start(Path dataDir, Path file, String yaml) throws Exception {
    Files.createDirectories(file.toAbsolutePath().getParent());
    Files.writeString(file, yaml);
    return Daemon.start(new Daemon.Options(dataDir, file), yaml, ConfigLoader.parse(yaml), "test");
  }

  /** Commits {@code yaml} on {@code daemon} as the author "test"; fails the test if it is not valid or not applied. */
  public static void commit(Daemon daemon, String yaml, String message) throws Exception {
    List<?> problems = daemon.commits().setCandidate(yaml);
    assertEquals(List.of(), problems, "the candidate's problems");
    daemon.commits().commit("test", message, null).get(20, TimeUnit.SECONDS);
  }

  /** A config with every listener on loopback at a free port. */
  public static String config(int admin, int proxy, int icap) {
    return "node: { name: test-node, shutdownGrace: 2s }\n"
        + "admin: { listen: 127.0.0.1:" + admin + " }\n"
        + "proxy: { listen: 127.0.0.1:" + proxy + ", deniedDestinations: [] }\n"
        + "icap: { listen: 127.0.0.1:" + icap + " }\n";
  }

  /**
   * A node named {@code name} for its own JVM (1 s shutdown grace): the admin API on 127.0.0.1:{@code admin}, the
   * proxy on 127.0.0.1:{@code proxy} with {@code proxyMore} after its address (", key: value", or ""), the ICAP server
   * on a free port.
   */
  public static String proxyNode(String name, int admin, int proxy, String proxyMore) throws IOException {
    return """
        node: { name: %s, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d%s }
        icap: { listen: 127.0.0.1:%d }
        """.formatted(name, admin, proxy, proxyMore, Host.freePort());
  }

  /**
   * A node that only balances: {@code node} its node section's flow map, the admin API on 127.0.0.1:{@code admin},
   * no proxy and no ICAP server, the balancer on with {@code frontends} (YAML list items, not indented).
   */
  public static String balancerConfig(String node, int admin, String frontends) {
    return """
        node: %s
        admin: { listen: 127.0.0.1:%d }
        proxy: { enabled: false }
        icap: { enabled: false }
        balancer:
          enabled: true
          frontends:
        %s""".formatted(node, admin, frontends.indent(4));
  }

  /** An HTTP answer: status and body. */
  public record Answer(int status, String body) {
    public JsonObject json() {
      return new JsonObject(body);
    }
  }

  public static Answer call(String method, String url, String token, String body) throws Exception {
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

  /** The status (UP, DOWN) of the readiness check {@code id} of the node whose admin API is on {@code admin}. */
  public static String readiness(int admin, String id) throws Exception {
    io.vertx.core.json.JsonObject r = new io.vertx.core.json.JsonObject(
        io.portcullis.testsupport.Host.run("curl", "-s", "http://127.0.0.1:" + admin + "/health/ready").output());
    return r.getJsonArray("checks").stream().map(o -> (io.vertx.core.json.JsonObject) o)
        .filter(c -> id.equals(c.getString("id"))).map(c -> c.getString("status")).findFirst().orElse("(none)");
  }

  public static String token(Path dataDir) throws IOException {
    return Files.readString(dataDir.resolve("admin.token")).strip();
  }
}
