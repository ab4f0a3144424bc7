package io.portcullis.daemon.config;

import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** The {@code when} of a rule: each list given must match (any of its items); an empty list is no condition. */
public record Conditions(
    @Doc("host names: exact, *.domain (the domain and its subdomains), or with * and ? wildcards") List<String> hosts,
    @Doc("URLs: a glob with * and ?, or regex:PATTERN") List<String> urls,
    @Doc("HTTP methods, e.g. GET, POST, CONNECT") List<String> methods,
    @Doc("client addresses or networks (CIDR)") List<Cidr> clients,
    @Doc("URL categories by name (rules.categories)") @Ref("rules.categories") List<String> categories)
    implements Validatable {

  private static final Pattern HOST_PATTERN = Pattern.compile("[A-Za-z0-9*?]([A-Za-z0-9*?._-]*[A-Za-z0-9*?])?");
  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z_-]{0,31}");

  @Override
  public void validate(String path, Problems problems) {
    for (int i = 0; i < hosts.size(); i++) {
      String h = hosts.get(i);
      if (!HOST_PATTERN.matcher(h).matches() || h.contains("..")) {
        problems.add(path + ".hosts[" + i + "]", '"' + h + "\" is not a host name or host pattern");
      }
    }
    for (int i = 0; i < urls.size(); i++) {
      String u = urls.get(i);
      if (u.startsWith("regex:")) {
        try {
          Pattern.compile(u.substring(6));
        } catch (PatternSyntaxException e) {
          problems.add(path + ".urls[" + i + "]", "is not a valid regex: " + e.getDescription());
        }
      } else if (u.isBlank() || u.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
        problems.add(path + ".urls[" + i + "]", '"' + u + "\" is not a URL pattern (no spaces or control characters)");
      }
    }
    for (int i = 0; i < methods.size(); i++) {
      if (!METHOD.matcher(methods.get(i)).matches()) {
        problems.add(path + ".methods[" + i + "]", '"' + methods.get(i) + "\" is not an HTTP method (upper case)");
      }
    }
  }
}
