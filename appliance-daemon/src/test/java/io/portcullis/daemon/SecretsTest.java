package io.portcullis.daemon;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Host.Run;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Ssh;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Secrets (password hashes, cluster secrets) never reach what the API, the console or the logs show; the revision
 * files on disk keep them, readable by the daemon's user only. Values from outside are logged with controls escaped.
 */
class SecretsTest {
  static final String PROXY_HASH = "$6$saltsalt$Sxc1YSoQ0Yl0rZi6mI3m5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5nJ5n";

  @RegisterExtension final Cleanup cleanup = new Cleanup();
  @TempDir Path dir;
  ListAppender<ILoggingEvent> audit;
  ListAppender<ILoggingEvent> all;
  Daemon daemon;
  String admin;
  String token;
  int ssh;
  Path key;
  String consoleHash;

  @BeforeEach
  void start() throws Exception {
    key = Ssh.keygen(dir);
    int adminPort = freePort();
    ssh = freePort();
    consoleHash = PasswordHash.make("a console password".toCharArray());
    String text = """
        node: { name: secrets-node, shutdownGrace: 1s }
        admin: { listen: 127.0.0.1:%d }
        proxy: { listen: 127.0.0.1:%d, auth: { users: [ { name: alice, password: '%s' } ] } }
        icap: { listen: 127.0.0.1:%d }
        console:
          ssh: { enabled: true, listen: 127.0.0.1:%d }
          users:
            - { name: admin, passwordHash: "%s", authorizedKeys: ["%s"] }
        """.formatted(adminPort, freePort(), PROXY_HASH, freePort(), ssh, consoleHash,
        Ssh.publicKey(key));
    audit = listen("portcullis.audit");
    all = listen(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Path file = Files.writeString(dir.resolve("portcullis.yaml"), text);
    // What an older install and a crash leave: a world-readable config, temp files that may hold secrets.
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    Files.createDirectories(dir.resolve("data/revisions"));
    for (Path d : List.of(dir, dir.resolve("data"), dir.resolve("data/revisions"))) {
      Files.writeString(d.resolve(".tmp-portcullis.yaml-1234"), "passwordHash: half written");
    }
    // Started on the file as it is (TestNodes.start would write it anew).
    daemon = cleanup.add(Daemon.start(new Daemon.Options(dir.resolve("data"), file), text, ConfigLoader.parse(text),
        "test"), Daemon::stop);
    admin = "http://127.0.0.1:" + adminPort;
    token = TestNodes.token(dir.resolve("data"));
  }

  /** What {@code logger} logs from now to the end of the test. */
  ListAppender<ILoggingEvent> listen(String logger) {
    Logger log = (Logger) LoggerFactory.getLogger(logger);
    ListAppender<ILoggingEvent> events = cleanup.add(new ListAppender<ILoggingEvent>(), log::detachAppender);
    events.start();
    log.addAppender(events);
    return events;
  }

  /** An admin-API call as a console would make it, with the user and source it names. */
  TestNodes.Answer call(String method, String path, String body, String user) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(admin + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json");
    if (user != null) {
      b.header("X-Portcullis-User", user);
    }
    HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new TestNodes.Answer(r.statusCode(), r.body());
  }

  void assertHidden(String shown, String... secrets) {
    for (String s : secrets) {
      assertFalse(shown.contains(s), "a secret shows: " + shown);
      assertFalse(shown.contains(s.replace("$", "\\$")), "a secret shows: " + shown);
    }
  }

  @Test
  void theApiShowsPlaceholdersWhereTheRevisionOnDiskKeepsTheSecrets() throws Exception {
    String newHash = PasswordHash.make("another password".toCharArray());
    for (String path : List.of("/api/v1/config", "/api/v1/config?format=set", "/api/v1/candidate",
        "/api/v1/revisions/1")) {
      TestNodes.Answer a = call("GET", path, null, null);
      assertEquals(200, a.status(), path + " " + a.body());
      assertHidden(a.body(), PROXY_HASH, consoleHash, "saltsalt", "pbkdf2");
      assertTrue(a.body().contains("## SECRET-DATA"), path + " " + a.body());
    }
    // A console session changes a hash: its candidate, compare and the audit log do not show either.
    String session = call("POST", "/api/v1/sessions", "{}", "ann").json().getString("session");
    TestNodes.Answer set = call("POST", "/api/v1/sessions/" + session + "/set",
        new JsonObject().put("path", new io.vertx.core.json.JsonArray(List.of("console", "users", "admin",
            "passwordHash", newHash))).encode(), "ann");
    assertEquals(200, set.status(), set.body());
    String shown = call("GET", "/api/v1/sessions/" + session, null, "ann").body()
        + call("GET", "/api/v1/sessions/" + session + "/set", null, "ann").body();
    String diff = call("GET", "/api/v1/sessions/" + session + "/compare", null, "ann").json().getString("diff");
    assertTrue(diff.contains("SECRET-DATA (changed)"), diff);
    TestNodes.Answer commit = call("POST", "/api/v1/sessions/" + session + "/commit", "{}", "ann");
    assertEquals(200, commit.status(), commit.body());
    String compare = call("GET", "/api/v1/compare?revision=1", null, null).body();
    assertTrue(compare.contains("SECRET-DATA"), compare);
    assertHidden(shown + diff + compare, newHash, consoleHash, PROXY_HASH);
    List<String> lines = new ArrayList<>();
    all.list.forEach(e -> lines.add(e.getFormattedMessage()));
    assertTrue(lines.stream().anyMatch(l -> l.contains("set console users admin passwordHash")), lines.toString());
    assertHidden(String.join("\n", lines), newHash, consoleHash, PROXY_HASH, "pbkdf2");
    // On disk: the revision keeps the new hash, for the daemon's user only.
    Path rev = dir.resolve("data/revisions/000002.yaml");
    assertTrue(Files.readString(rev).contains(newHash));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(rev)));
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("portcullis.yaml"))));
  }

  @Test
  void modesAreSetOnEveryWriteAndLeftoverTempFilesAreGoneAtStart() throws Exception {
    for (Path d : List.of(dir, dir.resolve("data"), dir.resolve("data/revisions"))) {
      assertFalse(Files.exists(d.resolve(".tmp-portcullis.yaml-1234")), d.toString());
    }
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("data/admin.token"))));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("data/revisions/000001.yaml"))));
    String text = daemon.commits().active().text().replace("shutdownGrace: 1s", "shutdownGrace: 2s");
    TestNodes.commit(daemon, text, "modes");
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("portcullis.yaml"))), "the older file's 0644 is not kept");
    // The SSH console's host key (SSHD writes it at start) and the revisions' directory are the owner's alone.
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(
        dir.resolve("data/ssh_host_key"))));
    Path revisions = dir.resolve("data/revisions");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(revisions)));
    Files.setPosixFilePermissions(revisions, PosixFilePermissions.fromString("rwxr-xr-x")); // as an older node left it
    new io.portcullis.daemon.config.RevisionStore(revisions);
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(revisions)),
        "a directory of revisions (which hold the secrets) made the owner's again at start");
  }

  @Test
  void aCraftedUserNameCannotForgeAnAuditLine() throws Exception {
    String forged = "ann\nuser=root source=10.0.0.1 session=x commit -> revision 99";
    // HTTP carries no line break in a header, but C1 controls (NEL, 0x85) pass as obs-text: escaped too.
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", URI.create(admin).getPort())) {
      s.getOutputStream().write(("POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
          + "\r\nX-Portcullis-User: ann\u0085user=root\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
          .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      String answer = new String(s.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
      assertTrue(answer.startsWith("HTTP/1.1 200"), answer);
    }
    // Over SSH, a user name with a line feed in it (OpenSSH's client refuses to send one; Apache MINA's does, as an
    // attacker's would): refused, and logged on one line.
    try (org.apache.sshd.client.SshClient client = org.apache.sshd.client.SshClient.setUpDefaultClient()) {
      client.setServerKeyVerifier(org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier.INSTANCE);
      client.start();
      try (org.apache.sshd.client.session.ClientSession cs = client.connect(forged, "127.0.0.1", ssh)
          .verify(java.time.Duration.ofSeconds(20)).getSession()) {
        cs.addPasswordIdentity("wrong");
        org.apache.sshd.client.future.AuthFuture auth = cs.auth();
        auth.await(java.time.Duration.ofSeconds(20));
        assertFalse(auth.isSuccess(), "a wrong password is refused");
      }
    }
    Host.waitUntil(() -> audit.list.stream().anyMatch(e -> e.getFormattedMessage().contains("ssh password refused")));
    List<String> lines = audit.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    for (String l : lines) {
      assertFalse(l.contains("\n") || l.contains("\r"), "a line break in an audit line: " + l);
    }
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("user=ann\\x85user=root source=")), lines.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("user=ann\\nuser=root") && l.contains("ssh password refused")),
        lines.toString());
  }

  @Test
  void showConfigurationOverSshHidesTheSecrets() throws Exception {
    Run r = Ssh.run(dir, new Ssh(ssh).withKey(key, "admin@127.0.0.1", "show config"));
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("## SECRET-DATA"), r.output());
    assertHidden(r.output(), PROXY_HASH, consoleHash, "saltsalt");
  }
}
