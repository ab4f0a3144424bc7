package io.portcullis.daemon.config;

import java.util.List;
import java.util.Set;

/**
 * When a rule applies: on {@code days} (mon … sun; none = every day) within {@code times} ({@code HH:MM-HH:MM};
 * none = all day; a range may cross midnight, e.g. {@code 22:00-06:00}), in the zone {@code rules.timeZone}.
 */
public record Schedule(
    @Doc("days of the week: mon, tue, wed, thu, fri, sat, sun") List<String> days,
    @Doc("time ranges HH:MM-HH:MM (may cross midnight)") List<String> times) implements Validatable {

  public static final List<String> DAY_NAMES = List.of("mon", "tue", "wed", "thu", "fri", "sat", "sun");

  @Override
  public void validate(String path, Problems problems) {
    for (int i = 0; i < days.size(); i++) {
      if (!Set.copyOf(DAY_NAMES).contains(days.get(i))) {
        problems.add(path + ".days[" + i + "]", '"' + days.get(i) + "\" is not one of " + String.join(", ", DAY_NAMES));
      }
    }
    for (int i = 0; i < times.size(); i++) {
      if (minutes(times.get(i)) == null) {
        problems.add(path + ".times[" + i + "]", '"' + times.get(i) + "\" is not HH:MM-HH:MM");
      }
    }
  }

  /** {@code [from, to)} in minutes of the day for {@code HH:MM-HH:MM} (to may be 24:00), or null. */
  public static int[] minutes(String range) {
    if (!range.matches("\\d{2}:\\d{2}-\\d{2}:\\d{2}")) {
      return null;
    }
    int from = Integer.parseInt(range.substring(0, 2)) * 60 + Integer.parseInt(range.substring(3, 5));
    int to = Integer.parseInt(range.substring(6, 8)) * 60 + Integer.parseInt(range.substring(9, 11));
    if (Integer.parseInt(range.substring(3, 5)) > 59 || Integer.parseInt(range.substring(9, 11)) > 59
        || from >= 24 * 60 || to > 24 * 60 || from == to) {
      return null;
    }
    return new int[] {from, to};
  }
}
