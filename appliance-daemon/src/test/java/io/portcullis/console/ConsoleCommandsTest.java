package io.portcullis.console;

import static io.portcullis.daemon.TestNodes.config;
import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.LocalConsole;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The console's configuration commands against a real daemon. */
class ConsoleCommandsTest {
  @RegisterExtension
  final Cleanup cleanup = new Cleanup();
  @TempDir
  Path dir;
  int admin;
  String out;
  String err;

  /** A node on {@code text} for this test, its data in dir/data. */
  void start(String text) throws Exception {
    cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  int console(String... args) {
    LocalConsole.Result r = LocalConsole.run(admin, dir.resolve("data"), null, args);
    out = r.out();
    err = r.err();
    return r.code();
  }

  @Test
  void loadCompareCommitConfirmedConfirmRollback() throws Exception {
    admin = freePort();
    int proxy = freePort();
    int icap = freePort();
    String text = config(admin, proxy, icap);
    start(text);

    assertEquals(0, console("show", "status"));
    assertTrue(out.contains("node test-node"), out);
    assertTrue(out.contains("proxy     listening  127.0.0.1:" + proxy), out);

    int proxy2 = freePort();
    Path next = dir.resolve("next.yaml");
    Files.writeString(next, config(admin, proxy2, icap));
    assertEquals(0, console("load", next.toString()));
    assertEquals(0, console("compare"));
    assertTrue(out.contains("-proxy: { listen: 127.0.0.1:" + proxy + ", deniedDestinations: [] }"), out);
    assertTrue(out.contains("+proxy: { listen: 127.0.0.1:" + proxy2 + ", deniedDestinations: [] }"), out);
    assertEquals(0, console("commit", "check"));
    assertEquals(0, console("commit", "confirmed", "5", "comment", "move", "the", "proxy"));
    assertTrue(out.contains("commit complete: revision 2"), out);
    assertTrue(out.contains("unless `confirm` comes first"), out);
    assertEquals(0, console("show", "status"));
    assertTrue(out.contains("commit confirmed pending: revision 2 reverts to 1"), out);
    assertEquals(0, console("confirm"));
    assertEquals(1, console("confirm"));
    assertTrue(err.contains("no commit confirmed is pending"), err);

    assertEquals(0, console("show", "revisions"));
    assertTrue(out.contains("move the proxy"), out);
    assertEquals(0, console("rollback", "1"));
    assertEquals(0, console("commit", "comment", "back"));
    assertTrue(out.contains("revision 3"), out);
    assertEquals(0, console("show", "config"));
    assertEquals(text, out);
  }

  @Test
  void invalidFileIsNotCommittedAndEveryProblemIsPrinted() throws Exception {
    admin = freePort();
    String text = config(admin, freePort(), freePort());
    start(text);
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(bad, "proxy: { listen: nowhere }\nicap: { enabled: perhaps }\n");
    assertEquals(1, console("commit", "file", bad.toString()));
    assertTrue(out.contains("proxy.listen: \"nowhere\" is not host:port"), out);
    assertTrue(out.contains("icap.enabled: \"perhaps\" is not true or false"), out);
    assertEquals(1, console("commit", "check"));
    assertEquals(0, console("show", "config"));
    assertEquals(text, out);
    assertEquals(2, console("rollback", "x"));
    assertEquals(2, console("frobnicate"));
  }

  @Test
  void withoutTheTokenNothingIsShown() throws Exception {
    admin = freePort();
    start(config(admin, freePort(), freePort()));
    Path wrong = dir.resolve("wrong.token");
    Files.writeString(wrong, "not-the-token-not-the-token-not-the-token\n");
    LocalConsole.Result r = LocalConsole.run(null, "--admin", "http://127.0.0.1:" + admin, "--token-file",
        wrong.toString(), "show", "config");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("bearer token is required"));
  }

  @Test
  void showBalancerListsServersAndExportsHaproxyCfgPerFrontend() throws Exception {
    admin = freePort();
    int web = freePort();
    int icap = freePort();
    int up = freePort(); // the admin port itself answers: a server that is up
    String text = config(admin, freePort(), freePort()) + """
        balancer:
          enabled: true
          frontends:
            - { name: web, listen: 127.0.0.1:%d, check: { interval: 100ms }, servers: [{ name: s1, address: 127.0.0.1:%d, weight: 3 }] }
            - { name: icap, listen: 127.0.0.1:%d, mode: tcp, check: { type: icap }, servers: [{ name: s2, address: 127.0.0.1:%d, backup: true }] }
        """.formatted(web, admin, icap, up);
    start(text);
    assertEquals(0, console("show", "balancer"));
    assertTrue(out.contains("frontend web  127.0.0.1:" + web + "  http  roundrobin"), out);
    assertTrue(out.lines().anyMatch(l -> l.matches("\\s+s1\\s+127\\.0\\.0\\.1:" + admin + "\\s+up\\s+3\\s.*")), out);
    assertTrue(out.lines().anyMatch(l -> l.matches("\\s+s2\\s+\\S+\\s+\\S+\\s+1b\\s.*")), out);
    assertEquals(0, console("show", "balancer", "haproxy", "icap"));
    assertTrue(out.contains("backend icap") && !out.contains("backend web") && out.contains("server s2 127.0.0.1:"
        + up + " weight 1 check backup"), out);
    assertEquals(1, console("show", "balancer", "haproxy", "nope"));
    assertTrue(err.contains("no frontend named nope"), err);
  }
}
