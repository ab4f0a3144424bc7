package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import io.portcullis.daemon.rules.CidrMatcher;
import io.vertx.core.net.SocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/** One frontend as one commit configured it: its servers, the active and backup groups, and their method. */
public final class Frontend {
  private final BalancerConfig.Frontend config;
  private final List<Server> servers;
  private final Method active;
  private final Method backup;
  private final AtomicInteger clients;
  private final List<CidrMatcher> allowedClients;

  Frontend(BalancerConfig.Frontend config, List<Server> servers, AtomicInteger clients) {
    this.config = config;
    this.servers = List.copyOf(servers);
    this.active = Method.of(config.method(), servers.stream().filter(s -> !s.backup()).toList());
    this.backup = Method.of(config.method(), servers.stream().filter(Server::backup).toList());
    this.clients = clients;
    this.allowedClients = config.allowedClients().stream().map(CidrMatcher::new).toList();
  }

  /** Whether a client at {@code address} may use this frontend (its allowedClients). */
  public boolean allows(SocketAddress address) {
    return CidrMatcher.anyMatches(allowedClients, CidrMatcher.literal(address == null ? null : address.hostAddress()));
  }

  public BalancerConfig.Frontend config() {
    return config;
  }

  public String name() {
    return config.name();
  }

  public List<Server> servers() {
    return servers;
  }

  /** Client connections open now (shared with earlier commits of the same listen address). */
  public AtomicInteger clients() {
    return clients;
  }

  /**
   * The server for a new connection or request from a client whose address hashes to {@code client}, preferring
   * servers not in {@code tried} (those that already failed it): an active one if any is usable, else a backup; null
   * if none is usable.
   */
  public Server pick(int client, Set<Server> tried) {
    Server s = active.pick(x -> x.usable() && (tried == null || !tried.contains(x)), client);
    s = s != null ? s : backup.pick(x -> x.usable() && (tried == null || !tried.contains(x)), client);
    if (s == null && tried != null && !tried.isEmpty()) {
      // Every usable server failed this one already: try them again (a stale pooled connection, a restart), as
      // HAProxy retries the same server when there is no other.
      s = pick(client, null);
    }
    return s;
  }

  /**
   * As {@link #pick}, and counts the connection in on the server picked, atomically against its maxConnections (the
   * event loops pick at once: a check then an increment could overfill it).
   */
  public Server open(int client, Set<Server> tried) {
    for (int i = 0; i <= servers.size(); i++) {
      Server s = pick(client, tried);
      if (s == null || s.stats().tryOpen(s.config().maxConnections())) {
        return s;
      }
    }
    return null;
  }

  /** The hash of a client address for {@link #pick}. */
  public static int clientHash(String address) {
    return address == null ? 0 : SourceHash.hash(address);
  }
}
