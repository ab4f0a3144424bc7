package io.portcullis.daemon.balancer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.config.BalancerConfig.AdminState;
import io.portcullis.daemon.config.HostPort;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The balancing methods alone: what each one promises about who gets the next connection. */
class MethodTest {

  static List<Server> servers(int... weights) {
    List<Server> list = new ArrayList<>();
    for (int i = 0; i < weights.length; i++) {
      list.add(new Server(new BalancerConfig.Server(String.valueOf((char) ('a' + i)), new HostPort("127.0.0.1",
          8001 + i), weights[i], false, AdminState.ENABLED, 0), new ServerStats()));
    }
    return list;
  }

  /** A frontend "web" on 127.0.0.1:8080, by {@code mode} and {@code method}, over {@code servers}. */
  static Frontend frontend(BalancerConfig.Mode mode, BalancerConfig.Method method, List<Server> servers) {
    BalancerConfig.Frontend f = new BalancerConfig.Frontend("web", new HostPort("127.0.0.1", 8080), mode, method, null,
        servers.stream().map(Server::config).toList(), 3, java.time.Duration.ofSeconds(5),
        java.time.Duration.ofMinutes(5), 100, 10, false, 8192, 32768, 100, java.time.Duration.ofSeconds(30),
        BalancerConfig.Members.NONE, List.of(), BalancerConfig.SendProxy.NONE);
    return new Frontend(f, servers, new java.util.concurrent.atomic.AtomicInteger());
  }

  static Map<String, Integer> count(Method m, int n, Predicate<Server> ok) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < n; i++) {
      Server s = m.pick(ok, 0);
      counts.merge(s == null ? "-" : s.name(), 1, Integer::sum);
    }
    return counts;
  }

  @Test
  void roundRobinGivesEachServerItsWeightsShareExactlyAndSmoothly() {
    List<Server> g = servers(5, 1, 1);
    Method m = Method.of(BalancerConfig.Method.ROUNDROBIN, g);
    StringBuilder order = new StringBuilder();
    for (int i = 0; i < 7; i++) {
      order.append(m.pick(s -> true, 0).name());
    }
    assertEquals("aabacaa", order.toString(), "smooth: the light servers come between, not after, a's turns");
    assertEquals(Map.of("a", 500, "b", 100, "c", 100), count(m, 700, s -> true));
  }

  @Test
  void roundRobinSkipsServersThatAreNotEligibleWithoutSkewingTheOthers() {
    List<Server> g = servers(1, 1, 2);
    Method m = Method.of(BalancerConfig.Method.ROUNDROBIN, g);
    assertEquals(Map.of("a", 100, "c", 200), count(m, 300, s -> !s.name().equals("b")));
    assertNull(m.pick(s -> false, 0));
  }

  @Test
  void leastConnPicksTheServerWithFewestActiveConnectionsForItsWeight() {
    List<Server> g = servers(1, 1, 2);
    Method m = Method.of(BalancerConfig.Method.LEASTCONN, g);
    g.get(0).stats().tryOpen(0);
    g.get(0).stats().tryOpen(0);
    g.get(1).stats().tryOpen(0);
    g.get(2).stats().tryOpen(0);
    g.get(2).stats().tryOpen(0);
    // a: 2/1, b: 1/1, c: 2/2 -> b and c tie at 1 per weight; a never
    for (int i = 0; i < 10; i++) {
      assertNotEquals("a", m.pick(s -> true, 0).name());
    }
    g.get(1).stats().tryOpen(0); // b: 2/1 now
    assertEquals("c", m.pick(s -> true, 0).name());
  }

  @Test
  void leastConnSharesIdleServersInTurn() {
    Method m = Method.of(BalancerConfig.Method.LEASTCONN, servers(1, 1, 1));
    assertEquals(Map.of("a", 100, "b", 100, "c", 100), count(m, 300, s -> true));
  }

  @Test
  void sourceHashKeepsAClientOnOneServerAndMovesOnlyTheClientsOfAServerThatGoesDown() {
    List<Server> g = servers(1, 1, 1);
    Method m = Method.of(BalancerConfig.Method.SOURCE, g);
    Map<String, String> before = new HashMap<>();
    Map<String, Integer> spread = new HashMap<>();
    for (int i = 0; i < 3000; i++) {
      String client = "10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255);
      String first = m.pick(s -> true, Frontend.clientHash(client)).name();
      assertEquals(first, m.pick(s -> true, Frontend.clientHash(client)).name(), "sticky");
      before.put(client, first);
      spread.merge(first, 1, Integer::sum);
    }
    for (String s : List.of("a", "b", "c")) {
      assertTrue(spread.get(s) > 700 && spread.get(s) < 1300, "even enough: " + spread);
    }
    int moved = 0;
    for (Map.Entry<String, String> e : before.entrySet()) {
      String now = m.pick(s -> !s.name().equals("b"), Frontend.clientHash(e.getKey())).name();
      if (e.getValue().equals("b")) {
        assertNotEquals("b", now);
        moved++;
      } else {
        assertEquals(e.getValue(), now, "a client of a server still up stays where it was");
      }
    }
    assertEquals(spread.get("b"), moved);
  }

  @Test
  void firstFillsTheFirstServerUpToItsLimitBeforeTheNext() {
    List<Server> g = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      g.add(new Server(new BalancerConfig.Server("s" + i, new HostPort("127.0.0.1", 9000 + i), 1, false,
          AdminState.ENABLED, 2), new ServerStats()));
    }
    Method m = Method.of(BalancerConfig.Method.FIRST, g);
    List<String> got = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      Server s = m.pick(Server::usable, 0);
      s.stats().tryOpen(0);
      got.add(s.name());
    }
    assertEquals(List.of("s0", "s0", "s1", "s1", "s2"), got);
    g.get(0).stats().closed();
    assertSame(g.get(0), m.pick(Server::usable, 0));
  }

  @Test
  void randomOfTwoSpreadsByWeightAndAvoidsTheBusierOfItsTwoDraws() {
    List<Server> g = servers(1, 1, 2);
    Method m = Method.of(BalancerConfig.Method.RANDOM, g);
    Map<String, Integer> c = count(m, 4000, s -> true);
    assertTrue(c.get("a") > 400 && c.get("b") > 400 && c.get("c") > 1000, "all get a share, c more: " + c);
    for (int i = 0; i < 50; i++) {
      g.get(0).stats().tryOpen(0); // a is very busy: it only wins a draw against itself
    }
    Map<String, Integer> busy = count(m, 4000, s -> true);
    assertTrue(busy.getOrDefault("a", 0) < 400, "the busy server is mostly avoided: " + busy);
  }

  @Test
  void backupsServeOnlyWhenNoActiveServerIsUsable() {
    List<Server> all = new ArrayList<>(servers(1, 1));
    all.add(new Server(new BalancerConfig.Server("spare", new HostPort("127.0.0.1", 9100), 1, true,
        AdminState.ENABLED, 0), new ServerStats()));
    Frontend fe = frontend(BalancerConfig.Mode.HTTP, BalancerConfig.Method.ROUNDROBIN, all);
    for (int i = 0; i < 10; i++) {
      assertNotEquals("spare", fe.pick(0, null).name());
    }
    assertEquals("spare", fe.pick(0, Set.of(all.get(0), all.get(1))).name(), "the active ones failed this request");
    all.get(0).stats().checked(false, "down", 1, 1, 1);
    all.get(1).stats().checked(false, "down", 1, 1, 1);
    assertEquals("spare", fe.pick(0, null).name());
    all.get(0).stats().checked(true, "up", 1, 1, 1);
    assertEquals("a", fe.pick(0, null).name(), "back as soon as an active server is");
  }

  @Test
  void everyMethodOverAnEmptyGroupPicksNobodyInsteadOfThrowing() {
    for (BalancerConfig.Method m : BalancerConfig.Method.values()) {
      assertNull(Method.of(m, List.of()).pick(s -> true, 0), m.name());
    }
  }

  @Test
  void openNeverFillsAServerBeyondItsMaxConnections() {
    List<Server> g = List.of(new Server(new BalancerConfig.Server("only", new HostPort("127.0.0.1", 9200), 1, false,
        AdminState.ENABLED, 2), new ServerStats()));
    Frontend fe = frontend(BalancerConfig.Mode.TCP, BalancerConfig.Method.LEASTCONN, g);
    assertSame(g.get(0), fe.open(0, null));
    assertSame(g.get(0), fe.open(0, Set.of(g.get(0))), "the only server, failed once, is tried again");
    assertNull(fe.open(0, null), "full: its two connections are open");
    assertEquals(2, g.get(0).stats().active());
  }
}
