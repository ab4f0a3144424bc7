package io.portcullis.daemon.balancer;

import io.portcullis.daemon.config.BalancerConfig;
import java.util.List;
import java.util.function.Predicate;

/**
 * A balancing method over one group of servers (the active ones, or the backups), as HAProxy's lb_* files: one class
 * per method. Implementations are thread-safe: the event loops of all verticle instances pick at once.
 */
public interface Method {

  /** One of the group's servers that {@code ok} accepts, chosen for a client whose address hashes to {@code client}; null if none. */
  Server pick(Predicate<Server> ok, int client);

  /** The method {@code kind} over {@code group} (in config order). */
  static Method of(BalancerConfig.Method kind, List<Server> group) {
    return switch (kind) {
      case ROUNDROBIN -> new RoundRobin(group);
      case LEASTCONN -> new LeastConn(group);
      case SOURCE -> new SourceHash(group);
      case FIRST -> new First(group);
      case RANDOM -> new RandomTwo(group);
    };
  }
}
