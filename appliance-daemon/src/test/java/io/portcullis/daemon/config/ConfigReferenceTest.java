package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/configuration.md is what the schema says today: one source for the reference, never drifting from the code. */
class ConfigReferenceTest {
  static final Path FILE = Path.of("..", "docs", "configuration.md");

  @Test
  void theReferenceIsGeneratedFromTheSchemaAndNotStale() throws Exception {
    String now = ConfigReference.markdown();
    if (Boolean.getBoolean("portcullis.docs.write")) {
      Files.writeString(FILE, now, StandardCharsets.UTF_8);
    }
    assertEquals(now, Files.readString(FILE, StandardCharsets.UTF_8), "docs/configuration.md is stale: run ./mvnw -B "
        + "-pl appliance-daemon test -Dtest=ConfigReferenceTest -Dportcullis.docs.write=true and commit it");
  }

  @Test
  void everyKeyIsThereWithItsMarks() {
    String page = ConfigReference.markdown();
    for (ConfigSchema.Key k : ConfigSchema.keys()) {
      assertTrue(page.contains("| `" + k.path() + "` |"), k.path());
    }
    assertTrue(page.contains("| `console.users[].passwordHash` | String | (none) |"), page);
    assertTrue(page.contains("**secret**") && page.contains("| `proxy.accessLog` | String | `\"\"` |"), page);
  }
}
