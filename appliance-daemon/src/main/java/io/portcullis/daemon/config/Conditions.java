package io.portcullis.daemon.config;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code when} of a rule: every list given must match (any one of its items); an empty list is no condition.
 * {@code unless} lists exclusions: if any of them matches, the rule does not.
 */
public record Conditions(
    @Doc("host names: exact, *.domain (the domain and its subdomains), or with * and ? wildcards") List<String> hosts,
    @Doc("URLs: a glob with * and ?, or regex:PATTERN (searched in the whole URL)") List<String> urls,
    @Doc("URL schemes: http, https (CONNECT counts as https)") List<String> schemes,
    @Doc("destination ports") List<Integer> ports,
    @Doc("HTTP methods, e.g. GET, POST, CONNECT") List<String> methods,
    @Doc("client addresses or networks (CIDR)") List<Cidr> clients,
    @Doc("user names (from the identity headers), compared without case") List<String> users,
    @Doc("user groups (from the identity headers), compared without case") List<String> groups,
    @Doc("request Content-Type, e.g. application/json or text/*") List<String> requestMimeTypes,
    @Doc("response Content-Type, e.g. application/octet-stream or image/*") List<String> responseMimeTypes,
    @Doc("true file types from the body's first bytes: exe, elf, zip, gzip, 7z, rar, pdf, office, image, png, "
        + "jpeg, gif, bmp, webp, tiff, script, html") List<String> fileTypes,
    @Doc("file-name masks (from the URL path or Content-Disposition), e.g. *.exe") List<String> fileNames,
    @Doc("smallest body, bytes (Content-Length or counted); 10MiB style units allowed") @OptionalKey Long minBodySize,
    @Doc("largest body, bytes; 10MiB style units allowed") @OptionalKey Long maxBodySize,
    @Doc("when the rule applies: days and time ranges in rules.timeZone") @OptionalKey Schedule schedule,
    @Doc("URL categories by name (rules.categories)") @Ref("rules.categories") List<String> categories,
    @Doc("exclusions: condition sets (same keys as when); if any matches, the rule does not")
    List<Conditions> unless) implements Validatable {

  /** File types that {@code fileTypes} may name. */
  public static final Set<String> FILE_TYPES = Set.of("exe", "elf", "zip", "gzip", "7z", "rar", "pdf", "office",
      "image", "png", "jpeg", "gif", "bmp", "webp", "tiff", "script", "html");
  private static final Pattern HOST_PATTERN = Pattern.compile("[A-Za-z0-9*?]([A-Za-z0-9*?._-]*[A-Za-z0-9*?])?");
  private static final Pattern METHOD = Pattern.compile("[A-Z][A-Z_-]{0,31}");
  private static final Pattern MIME = Pattern.compile("[a-z0-9!#$&^_.+-]+/(\\*|[a-z0-9!#$&^_.+-]+)");

  /** True when no condition is given: the rule matches everything. */
  public boolean isEmpty() {
    return hosts.isEmpty() && urls.isEmpty() && schemes.isEmpty() && ports.isEmpty() && methods.isEmpty()
        && clients.isEmpty() && users.isEmpty() && groups.isEmpty() && requestMimeTypes.isEmpty()
        && responseMimeTypes.isEmpty() && fileTypes.isEmpty() && fileNames.isEmpty() && minBodySize == null
        && maxBodySize == null && schedule == null && categories.isEmpty() && unless.isEmpty();
  }

  /** True when a condition can only be judged with the response (type, file type, name, size). */
  public boolean needsResponse() {
    return !responseMimeTypes.isEmpty() || !fileTypes.isEmpty() || !fileNames.isEmpty() || minBodySize != null
        || maxBodySize != null || unless.stream().anyMatch(Conditions::needsResponse);
  }

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
    for (int i = 0; i < schemes.size(); i++) {
      if (!Set.of("http", "https").contains(schemes.get(i))) {
        problems.add(path + ".schemes[" + i + "]", '"' + schemes.get(i) + "\" is not http or https");
      }
    }
    for (int i = 0; i < ports.size(); i++) {
      if (ports.get(i) < 1 || ports.get(i) > 65535) {
        problems.add(path + ".ports[" + i + "]", ports.get(i) + " is not a port");
      }
    }
    for (int i = 0; i < methods.size(); i++) {
      if (!METHOD.matcher(methods.get(i)).matches()) {
        problems.add(path + ".methods[" + i + "]", '"' + methods.get(i) + "\" is not an HTTP method (upper case)");
      }
    }
    checkMimes(path + ".requestMimeTypes", requestMimeTypes, problems);
    checkMimes(path + ".responseMimeTypes", responseMimeTypes, problems);
    for (int i = 0; i < fileTypes.size(); i++) {
      if (!FILE_TYPES.contains(fileTypes.get(i))) {
        problems.add(path + ".fileTypes[" + i + "]", '"' + fileTypes.get(i) + "\" is not one of "
            + String.join(", ", FILE_TYPES.stream().sorted().toList()));
      }
    }
    for (int i = 0; i < fileNames.size(); i++) {
      String f = fileNames.get(i);
      if (f.isBlank() || f.contains("/") || f.chars().anyMatch(c -> c < ' ')) {
        problems.add(path + ".fileNames[" + i + "]", '"' + f + "\" is not a file-name mask (no / or controls)");
      }
    }
    if (minBodySize != null && minBodySize < 0) {
      problems.add(path + ".minBodySize", "must not be negative");
    }
    if (maxBodySize != null && maxBodySize < 0) {
      problems.add(path + ".maxBodySize", "must not be negative");
    }
    if (minBodySize != null && maxBodySize != null && minBodySize > maxBodySize) {
      problems.add(path + ".minBodySize", "is larger than maxBodySize");
    }
  }

  private static void checkMimes(String path, List<String> mimes, Problems problems) {
    for (int i = 0; i < mimes.size(); i++) {
      if (!MIME.matcher(mimes.get(i).toLowerCase(Locale.ROOT)).matches()) {
        problems.add(path + "[" + i + "]", '"' + mimes.get(i) + "\" is not a MIME type (type/subtype or type/*)");
      }
    }
  }
}
