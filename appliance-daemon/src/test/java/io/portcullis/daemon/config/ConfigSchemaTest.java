package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigSchemaTest {

  @Test
  void schemaListsEveryLeafKeyWithItsHelp() {
    List<String> paths = ConfigSchema.keys().stream().map(ConfigSchema.Key::path).toList();
    assertTrue(paths.contains("proxy.listen"));
    assertTrue(paths.contains("rules.access[].when.hosts"));
    assertTrue(paths.contains("rules.access[].action"));
    for (ConfigSchema.Key k : ConfigSchema.keys()) {
      assertFalse(k.doc().isBlank(), k.path() + " has no @Doc");
    }
    assertEquals("0.0.0.0:3128",
        ConfigSchema.keys().stream().filter(k -> k.path().equals("proxy.listen")).findFirst().orElseThrow()
            .defaultValue());
  }

  @Test
  void readmeLeadsToTheGeneratedReferenceAndTheRulesPageExplainsEveryCondition() throws Exception {
    // The keys themselves are in docs/configuration.md, generated from the schema (ConfigReferenceTest).
    assertTrue(Files.readString(Path.of("..", "README.md")).contains("(docs/configuration.md)"));
    String readme = Files.readString(Path.of("..", "docs", "rules.md"));
    for (ConfigSchema.Key k : ConfigSchema.keys()) {
      int when = k.path().indexOf(".when.");
      if (when >= 0) { // conditions are the same in every rule list: docs/rules.md explains them once, as when.KEY
        String doc = k.path().substring(when + 1).replace("[]", "");
        assertTrue(readme.contains("`" + doc + "`"), "docs/rules.md does not explain `" + doc + "`");
      }
    }
  }
}
