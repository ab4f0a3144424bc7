package io.portcullis.daemon.balancer;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.portcullis.daemon.config.HostPort;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The balancer's state that outlives a commit: each server's {@link ServerStats} (kept while a commit keeps the
 * server: same frontend, name and address) with its meters, and each listen address's count of client connections.
 */
public final class BalancerStats {
  /** A server's identity across commits. */
  record Key(String frontend, String server, HostPort address) {
  }

  private final MeterRegistry registry;
  private final Map<Key, ServerStats> servers = new ConcurrentHashMap<>();
  private final Map<Key, List<Meter>> meters = new ConcurrentHashMap<>();
  private final Map<HostPort, AtomicInteger> clients = new ConcurrentHashMap<>();

  public BalancerStats(MeterRegistry registry) {
    this.registry = registry;
  }

  /** The stats of a server, the same object for as long as commits keep it. */
  synchronized ServerStats server(String frontend, String server, HostPort address) {
    Key key = new Key(frontend, server, address);
    return servers.computeIfAbsent(key, k -> {
      ServerStats s = new ServerStats();
      if (registry != null) {
        Tags tags = Tags.of("frontend", frontend, "server", server, "address", address.toString());
        List<Meter> m = new ArrayList<>();
        m.add(Gauge.builder("portcullis_balancer_server_up", s, x -> x.up() ? 1 : 0).tags(tags)
            .description("1 when the server's checks pass, 0 when it is down").register(registry));
        m.add(Gauge.builder("portcullis_balancer_server_active_connections", s, ServerStats::active).tags(tags)
            .description("connections (tcp) or requests (http) to the server under way").register(registry));
        m.add(FunctionCounter.builder("portcullis_balancer_server_requests", s, ServerStats::total).tags(tags)
            .description("connections (tcp) or requests (http) sent to the server").register(registry));
        m.add(FunctionCounter.builder("portcullis_balancer_server_errors", s, ServerStats::errors).tags(tags)
            .description("failed connections and requests to the server").register(registry));
        m.add(FunctionCounter.builder("portcullis_balancer_server_state_changes", s, ServerStats::stateChanges)
            .tags(tags).description("times the checks took the server down or brought it up").register(registry));
        m.add(FunctionCounter.builder("portcullis_balancer_server_checks", s, x -> x.checksPassed.sum())
            .tags(tags.and("result", "passed")).description("health checks of the server by result")
            .register(registry));
        m.add(FunctionCounter.builder("portcullis_balancer_server_checks", s, x -> x.checksFailed.sum())
            .tags(tags.and("result", "failed")).description("health checks of the server by result")
            .register(registry));
        meters.put(k, m);
      }
      return s;
    });
  }

  /** The count of client connections on a listen address (kept while the address is). */
  AtomicInteger clients(HostPort listen) {
    return clients.computeIfAbsent(listen, l -> new AtomicInteger());
  }

  /** Counts a client connection (tcp) or request (http) a frontend refused, by reason (allowedClients, maxConnections). */
  void refused(String frontend, String reason) {
    if (registry != null) {
      registry.counter("portcullis_balancer_refused", "frontend", frontend, "reason", reason).increment();
    }
  }

  /** Forgets servers that {@code kept} (the commit now in effect) no longer has, and their meters. */
  synchronized void retain(Set<Key> kept) {
    for (Key k : List.copyOf(servers.keySet())) {
      if (!kept.contains(k)) {
        servers.remove(k);
        List<Meter> m = meters.remove(k);
        if (m != null) {
          m.forEach(registry::remove);
        }
      }
    }
  }
}
