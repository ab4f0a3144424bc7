package io.portcullis.daemon.balancer;

import java.util.List;
import java.util.function.Predicate;

/**
 * The first eligible server in config order that has room (its maxConnections not reached): a server fills before
 * the next one gets anything, so spare servers can be switched off.
 */
final class First implements Method {
  private final List<Server> group;

  First(List<Server> group) {
    this.group = group;
  }

  @Override
  public Server pick(Predicate<Server> ok, int client) {
    for (Server s : group) {
      if (ok.test(s)) {
        return s;
      }
    }
    return null;
  }
}
