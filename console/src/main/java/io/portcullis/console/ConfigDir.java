package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.portcullis.console.Command.Action;
import io.portcullis.console.Command.UsageError;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The files beside the config as the console shows and imports them: over SSH there is no scp, so a keytab or a PEM
 * file comes as one Base64 line ({@code base64 -w0 proxy.keytab} on the admin's machine), decoded by the daemon.
 */
final class ConfigDir {
  private ConfigDir() {
  }

  /** {@code show files}: name, size, mode, SHA-256 and time of each file beside the config. */
  static int show(Shell shell) throws IOException, InterruptedException {
    return shell.print(shell.client().get("api/v1/files"), a -> {
      shell.out().printf("%-32s %10s %-5s %-20s %s%n", "FILE", "BYTES", "MODE", "MODIFIED", "SHA-256");
      for (JsonNode f : a.body().path("files")) {
        String t = f.path("modified").asText();
        shell.out().printf("%-32s %10d %-5s %-20s %s%n", f.path("name").asText(), f.path("size").asLong(),
            f.path("mode").asText(), t.length() > 19 ? t.substring(0, 19) + "Z" : t, f.path("sha256").asText());
      }
    });
  }

  /** {@code file import NAME BASE64...}: writes NAME beside the config (0600); the parts of BASE64 are joined. */
  static Action importFile(List<String> args) {
    if (args.size() < 2) {
      throw new UsageError("file import needs a NAME and the file's content in Base64 (base64 -w0 FILE)");
    }
    String name = args.get(0);
    String b64 = String.join("", args.subList(1, args.size()));
    try {
      Base64.getDecoder().decode(b64); // strict: PEM text pasted as it is would import as garbage
    } catch (IllegalArgumentException e) {
      throw new UsageError("the content is not Base64: " + e.getMessage());
    }
    return shell -> {
      ObjectNode body = AdminClient.JSON.createObjectNode().put("base64", b64);
      return shell.print(shell.client().send("PUT", "api/v1/files/" + URLEncoder.encode(name,
          StandardCharsets.UTF_8), body), a -> {
            JsonNode f = a.body();
            shell.out().println(f.path("name").asText() + ": " + f.path("size").asLong() + " bytes, mode "
                + f.path("mode").asText() + ", sha256 " + f.path("sha256").asText());
            shell.out().println("a config key naming it takes it at the next commit (set it, then commit)");
          });
    };
  }
}
