package io.portcullis.daemon.config;

import java.time.Duration;

/** What identifies this node and how it stops. */
public record NodeConfig(
    @Doc("the node's name in logs, events and the cluster") @Default("portcullis") String name,
    @Doc("on SIGTERM, how long in-flight work may take before the daemon exits") @Default("10s") Duration shutdownGrace,
    @Doc("event loops that serve traffic (each service runs one instance per loop); 0 = one per CPU, read at start")
    @Default("0") int eventLoops)
    implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
      problems.add(path + ".name", '"' + name + "\" is not a node name (letters, digits, . _ -, at most 63)");
    }
    if (eventLoops < 0 || eventLoops > 256) {
      problems.add(path + ".eventLoops", eventLoops + " is not between 0 and 256");
    }
    if (shutdownGrace.compareTo(Duration.ofMinutes(10)) > 0) {
      problems.add(path + ".shutdownGrace", Durations.format(shutdownGrace) + " is longer than the 10m allowed");
    }
  }
}
