package io.portcullis.daemon.config;

import static io.portcullis.daemon.TestNodes.call;
import static io.portcullis.daemon.TestNodes.config;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.Main;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A config cannot make the node read a file outside its directory: a block page naming /etc/passwd-like files (by
 * absolute path, by .., through a symbolic link) is refused at commit check, commit and --check, and curl through the
 * proxy never sees the file's bytes.
 */
class ConfigFilesDaemonTest {
  static final String SECRET = "root:x:0:0:the file no proxy user may read";

  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path root;
  Path etc;
  Path secret;
  Daemon daemon;
  Curl curl;
  int adminPort;
  int proxyPort;
  String admin;
  String token;

  @BeforeEach
  void start() throws Exception {
    etc = Files.createDirectories(root.resolve("etc"));
    secret = Files.writeString(root.resolve("passwd"), SECRET + "\n");
    Files.writeString(etc.resolve("page.html"), "<h1>Blocked by policy: %URL%</h1>");
    adminPort = freePort();
    proxyPort = freePort();
    admin = "http://127.0.0.1:" + adminPort;
    curl = Curl.in(root).hideErrors().maxTime(20).proxy(proxyPort).with("-i");
    String text = config(adminPort, proxyPort, freePort());
    daemon = cleanup.add(TestNodes.start(root.resolve("data"), etc.resolve("portcullis.yaml"), text), Daemon::stop);
    token = TestNodes.token(root.resolve("data"));
  }

  String withTemplate(String template) {
    return config(adminPort, proxyPort, daemon.config().icap().listen().port())
        + "rules:\n  access:\n    - { name: no-games, when: { hosts: [games.example] }, action: block, template: \""
        + template + "\" }\n";
  }

  /** Puts {@code yaml} as the candidate and commits it; the commit's answer. */
  TestNodes.Answer commit(String yaml) throws Exception {
    call("PUT", admin + "/api/v1/candidate", token, new JsonObject().put("yaml", yaml).encode());
    return call("POST", admin + "/api/v1/commit", token, "{}");
  }

  String curl(String url) throws Exception {
    return curl.run(url).output();
  }

  void assertRefused(String template) throws Exception {
    call("PUT", admin + "/api/v1/candidate", token, new JsonObject().put("yaml", withTemplate(template)).encode());
    TestNodes.Answer check = call("POST", admin + "/api/v1/commit/check", token, null);
    assertEquals(422, check.status(), check.body());
    JsonArray problems = check.json().getJsonArray("problems");
    assertEquals(1, problems.size(), check.body());
    assertEquals("rules.access[0].template", problems.getJsonObject(0).getString("path"), check.body());
    TestNodes.Answer commit = call("POST", admin + "/api/v1/commit", token, "{}");
    assertEquals(422, commit.status(), commit.body());
    assertTrue(commit.body().contains("rules.access[0].template"), commit.body());
    String page = curl("http://games.example/");
    assertFalse(page.contains("root:x:0:0"), page);
  }

  @Test
  void aTemplateOutsideTheConfigDirectoryIsRefusedAndNeverServed() throws Exception {
    assertRefused(secret.toString());
    assertRefused("../passwd");
    Files.createSymbolicLink(etc.resolve("innocent.html"), secret);
    assertRefused("innocent.html");
    assertEquals(1, call("GET", admin + "/api/v1/config", token, null).json().getInteger("revision"),
        "nothing was committed");
  }

  @Test
  void aTemplateInsideIsServedAsTheBlockPage() throws Exception {
    TestNodes.Answer ok = commit(withTemplate("page.html"));
    assertEquals(200, ok.status(), ok.body());
    String page = curl("http://games.example/path");
    assertTrue(page.startsWith("HTTP/1.1 403 "), page);
    assertTrue(page.contains("<h1>Blocked by policy: http://games.example/path</h1>"), page);
  }

  @Test
  void checkAndStartRefuseAConfigThatNamesAFileOutside() throws Exception {
    Path bad = Files.writeString(etc.resolve("bad.yaml"), withTemplate(secret.toString()));
    for (String mode : List.of("--check", "")) {
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", bad.toString(),
          "--data-dir", root.resolve("data2").toString()));
      if (!mode.isEmpty()) {
        cmd.add(mode);
      }
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      assertEquals(2, p.exitValue(), out);
      assertTrue(out.contains("rules.access[0].template: names " + secret), out);
    }
  }
}
