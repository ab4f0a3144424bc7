package io.portcullis.daemon.proxy;

import static io.portcullis.testsupport.Host.freePort;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Daemon;
import io.portcullis.daemon.TestNodes;
import io.portcullis.testsupport.Cleanup;
import io.portcullis.testsupport.Curl;
import io.portcullis.testsupport.Peers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * proxy.followXForwardedFor: a request from a forwarder (our balancer here, on 127.0.0.1) counts as from the address
 * its X-Forwarded-For names, for the rules (by ICAP's X-Client-IP) and allowedClients; anyone else's header is not
 * believed. Real curl, real nginx as the origin, the node's own ICAP server, its balancer in front.
 */
class ProxyForwardedForTest {
  @RegisterExtension static final Cleanup cleanup = new Cleanup();
  @TempDir static Path dir;
  static Curl curl;
  static int origin;
  static int proxy;
  static int balancer;

  @BeforeAll
  static void start() throws Exception {
    curl = Curl.in(dir).maxTime(20);
    origin = Peers.nginx(cleanup, dir, Map.of("page.html", "hello\n"));
    proxy = freePort();
    balancer = freePort();
    String text = """
        admin: { listen: 127.0.0.1:%d }
        proxy: { deniedDestinations: [], listen: 127.0.0.1:%d, followXForwardedFor: [127.0.0.1/32] }
        icap: { listen: 127.0.0.1:%d }
        balancer:
          enabled: true
          frontends:
            - { name: web, listen: 127.0.0.1:%d, xForwardedFor: true, check: { type: none },
                servers: [{ name: local, address: 127.0.0.1:%d }] }
        rules:
          access:
            - { name: no-lab, when: { clients: [10.9.0.0/16, 127.0.0.2/32] }, action: block }
        """.formatted(freePort(), proxy, freePort(), balancer, proxy);
    cleanup.add(TestNodes.start(dir.resolve("data"), text), Daemon::stop);
  }

  /** The status and body of a GET of the origin's page through {@code port}, from {@code from}, with headers. */
  static String get(int port, String from, String... headers) throws Exception {
    List<String> args = new ArrayList<>(List.of("--interface", from, "-x", "http://127.0.0.1:" + port, "-w",
        "|%{http_code}"));
    for (String h : headers) {
      args.addAll(List.of("-H", h));
    }
    args.add("http://127.0.0.1:" + origin + "/page.html");
    return curl.run(args.toArray(String[]::new)).output().strip();
  }

  @Test
  void aForwardersXForwardedForNamesTheClientForTheRulesAndAllowedClients() throws Exception {
    assertTrue(get(proxy, "127.0.0.1").endsWith("hello\n|200"), get(proxy, "127.0.0.1"));
    String lab = get(proxy, "127.0.0.1", "X-Forwarded-For: 10.9.1.2");
    assertTrue(lab.endsWith("|403") && lab.contains("no-lab"), lab);
    assertTrue(get(proxy, "127.0.0.1", "X-Forwarded-For: 10.8.1.2").endsWith("|200"));
    String outside = get(proxy, "127.0.0.1", "X-Forwarded-For: 203.0.113.7");
    assertTrue(outside.endsWith("|403") && outside.contains("does not serve your network"), outside);
    // Walked back while the hops are forwarders; a hop that is no address ends the walk at the last trusted word.
    assertTrue(get(proxy, "127.0.0.1", "X-Forwarded-For: 10.9.1.2, 127.0.0.1").endsWith("|403"));
    assertTrue(get(proxy, "127.0.0.1", "X-Forwarded-For: 10.9.1.2", "X-Forwarded-For: 127.0.0.1").endsWith("|403"));
    assertTrue(get(proxy, "127.0.0.1", "X-Forwarded-For: 10.9.1.2, bogus").endsWith("|200"));
  }

  @Test
  void anyoneElsesXForwardedForIsNotBelieved() throws Exception {
    assertTrue(get(proxy, "127.0.0.3", "X-Forwarded-For: 10.9.1.2").endsWith("|200"));
    assertTrue(get(proxy, "127.0.0.3", "X-Forwarded-For: 203.0.113.7").endsWith("|200"));
    assertTrue(get(proxy, "127.0.0.2").endsWith("|403"), "127.0.0.2 itself is in the rule");
  }

  @Test
  void throughTheBalancerTheRulesSeeTheUserNotTheBalancer() throws Exception {
    String blocked = get(balancer, "127.0.0.2");
    assertTrue(blocked.endsWith("|403") && blocked.contains("no-lab"), blocked);
    assertTrue(get(balancer, "127.0.0.3").endsWith("hello\n|200"));
    // A user's own header goes on with the balancer's word appended: the walk stops at the user, not before.
    assertTrue(get(balancer, "127.0.0.3", "X-Forwarded-For: 10.9.1.2").endsWith("|200"));
  }
}
