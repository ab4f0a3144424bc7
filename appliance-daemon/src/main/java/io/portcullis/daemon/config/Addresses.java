package io.portcullis.daemon.config;

import java.util.regex.Pattern;

/** Syntax checks for addresses that never touch DNS (config validation must not block or depend on the network). */
public final class Addresses {
  private static final Pattern IPV4 =
      Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  private static final Pattern HOSTNAME =
      Pattern.compile("(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?");
  private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");

  private Addresses() {
  }

  public static boolean isIpv4Literal(String s) {
    return IPV4.matcher(s).matches();
  }

  static boolean isHostName(String s) {
    return HOSTNAME.matcher(s).matches() && !s.chars().allMatch(c -> Character.isDigit(c) || c == '.');
  }

  public static boolean isIpv6Literal(String s) {
    if (!s.contains(":") || !IPV6_CHARS.matcher(s).matches()) {
      return false;
    }
    int doubleColon = s.indexOf("::");
    if (doubleColon >= 0 && s.indexOf("::", doubleColon + 1) >= 0) {
      return false;
    }
    String[] groups = s.split(":", -1);
    int count = 0;
    for (int i = 0; i < groups.length; i++) {
      String g = groups[i];
      if (g.isEmpty()) {
        continue;
      }
      if (g.contains(".")) {
        if (i != groups.length - 1 || !isIpv4Literal(g)) {
          return false;
        }
        count += 2;
      } else if (g.length() > 4) {
        return false;
      } else {
        count++;
      }
    }
    return doubleColon >= 0 ? count < 8 : count == 8;
  }
}
