package io.portcullis.daemon.config;

import java.time.Duration;

/** After {@code maxFailures} failed logins from one address within {@code window}, it is refused for {@code duration}. */
public record Lockout(
    @Doc("failed logins from one address, within window, that lock it out; 0: never") @Default("5") int maxFailures,
    @Doc("the time over which failures are counted") @Default("10m") Duration window,
    @Doc("how long a locked-out address is refused (even with the right password)") @Default("10m")
    Duration duration) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    problems.between(path + ".maxFailures", maxFailures, 0, 1_000_000);
    if (window.isZero() || window.isNegative() || window.compareTo(Duration.ofDays(1)) > 0) {
      problems.add(path + ".window", "must be between 1s and 1d");
    }
    if (duration.isNegative() || duration.compareTo(Duration.ofDays(7)) > 0) {
      problems.add(path + ".duration", "must be between 0s and 7d");
    }
  }
}
