package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Junos-style set / delete / insert on the config's YAML. */
class ConfigEditorTest {
  static final String BASE = """
      proxy: { listen: 127.0.0.1:3128 }
      rules:
        access:
          - { name: first, action: allow }
      """;

  static List<String> w(String line) {
    return List.of(line.split(" "));
  }

  @Test
  void aNodeKeepsItsLocalKeysAndTakesEverythingElseFromTheControlNode() throws Exception {
    String control = """
        node: { name: control }
        admin: { listen: 127.0.0.1:9000 }
        proxy: { listen: 0.0.0.0:3128, maxConnectionsPerOrigin: 500 }
        cluster: { role: control, secret: a-secret-of-16-chars, nodes: [{ name: gw1, address: 10.0.0.11 }] }
        rules: { access: [{ name: no-x, when: { hosts: [x.test] }, action: block }] }
        """;
    String node = """
        node: { name: gw1 }
        proxy: { listen: 127.0.0.1:8080, maxConnectionsPerOrigin: 9 }
        cluster: { role: node, control: "10.0.0.1:9045", joinKey: a-key-of-16-chars-x, local: [proxy.listen] }
        """;
    String shared = ConfigEditor.withoutLocal(control, ClusterConfig.ALWAYS_LOCAL);
    assertTrue(!shared.contains("secret") && !shared.contains("9000") && !shared.contains("control"), shared);
    List<String> locals = new java.util.ArrayList<>(ClusterConfig.ALWAYS_LOCAL);
    locals.add("proxy.listen");
    Config merged = ConfigLoader.parse(ConfigEditor.withLocal(shared, node, locals));
    assertEquals("gw1", merged.node().name());
    assertEquals(ClusterConfig.Role.NODE, merged.cluster().role());
    assertEquals("127.0.0.1:8080", merged.proxy().listen().toString(), "a local key stays the node's");
    assertEquals(500, merged.proxy().maxConnectionsPerOrigin(), "its sibling comes from the control node");
    assertEquals("no-x", merged.rules().access().get(0).name());
    assertEquals(Config.defaults().admin(), merged.admin(), "the node's own admin section: none given, defaults");
  }

  @Test
  void clusterKeysAreCheckedTogether() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
        cluster: { role: node, joinKey: short, local: [proxy.nope, "rules.access[]"] }
        """));
    String all = e.problems().toString();
    assertTrue(all.contains("cluster.joinKey") && all.contains("cluster.control") && all.contains("cluster.local[0]")
        && all.contains("cluster.local[1]"), all);
  }

  @Test
  void setCreatesANamedRuleAndThenEditsItAsOnJunos() throws Exception {
    String y = ConfigEditor.set(BASE, List.of("rules", "access", "no-casino", "when", "hosts", "*.casino.test"));
    y = ConfigEditor.set(y, w("rules access no-casino action block"));
    Config c = ConfigLoader.parse(y);
    AccessRule r = c.rules().access().get(1);
    assertEquals("no-casino", r.name());
    assertEquals(List.of("*.casino.test"), r.when().hosts());
    assertEquals("block", r.action().name().toLowerCase());
    assertEquals("first", c.rules().access().get(0).name(), "the rule already there keeps its place");
    y = ConfigEditor.set(y, List.of("rules", "access", "no-casino", "when", "hosts", "*.bet.test", "*.casino.test"));
    assertEquals(List.of("*.casino.test", "*.bet.test"), ConfigLoader.parse(y).rules().access().get(1).when().hosts(),
        "values are added once each");
  }

  @Test
  void scalarsAreTypedAndCheckedAgainstTheRecords() throws Exception {
    String y = ConfigEditor.set(BASE, w("proxy maxHeaders 64"));
    y = ConfigEditor.set(y, w("proxy xForwardedFor true"));
    y = ConfigEditor.set(y, w("proxy icap onError bypass"));
    Config c = ConfigLoader.parse(y);
    assertEquals(64, c.proxy().maxHeaders());
    assertTrue(c.proxy().xForwardedFor());
    assertEquals(ProxyConfig.ProxyIcap.OnError.BYPASS, c.proxy().icap().onError());
    assertEquals("proxy maxHeaders: \"many\" is not a whole number",
        assertThrows(ConfigEditor.EditException.class, () -> ConfigEditor.set(BASE, w("proxy maxHeaders many")))
            .getMessage());
    assertTrue(assertThrows(ConfigEditor.EditException.class, () -> ConfigEditor.set(BASE, w("proxy icap onError "
        + "maybe"))).getMessage().contains("is not one of"));
    assertTrue(assertThrows(ConfigEditor.EditException.class, () -> ConfigEditor.set(BASE, w("proxy colour red")))
        .getMessage().startsWith("proxy: no key \"colour\" here; keys: enabled, listen"));
    assertTrue(assertThrows(ConfigEditor.EditException.class, () -> ConfigEditor.set(BASE, w("proxy listen a b")))
        .getMessage().contains("exactly one value"));
  }

  @Test
  void deleteRemovesAKeyAnItemOrValues() throws Exception {
    String y = ConfigEditor.set(BASE, List.of("rules", "access", "x", "when", "hosts", "a.test", "b.test"));
    y = ConfigEditor.set(y, w("rules access x action block"));
    y = ConfigEditor.delete(y, w("rules access x when hosts a.test"));
    assertEquals(List.of("b.test"), ConfigLoader.parse(y).rules().access().get(1).when().hosts());
    y = ConfigEditor.delete(y, w("rules access first"));
    assertEquals(1, ConfigLoader.parse(y).rules().access().size());
    y = ConfigEditor.delete(y, w("proxy listen"));
    assertEquals(ProxyConfig.class, ConfigLoader.parse(y).proxy().getClass());
    assertEquals("rules access nope: no such item",
        assertThrows(ConfigEditor.EditException.class, () -> ConfigEditor.delete(BASE, w("rules access nope")))
            .getMessage());
  }

  @Test
  void insertMovesARuleBeforeOrAfterAnother() throws Exception {
    String y = ConfigEditor.set(BASE, w("rules access b action allow"));
    y = ConfigEditor.set(y, w("rules access c action allow"));
    y = ConfigEditor.insert(y, w("rules access"), "c", true, "first");
    assertEquals(List.of("c", "first", "b"), ConfigLoader.parse(y).rules().access().stream().map(AccessRule::name)
        .toList());
    y = ConfigEditor.insert(y, w("rules access"), "c", false, "b");
    assertEquals(List.of("first", "b", "c"), ConfigLoader.parse(y).rules().access().stream().map(AccessRule::name)
        .toList());
  }

  @Test
  void displaySetListsEveryLeafAsACommandThatRebuildsTheConfig() throws Exception {
    String y = ConfigEditor.set(BASE, List.of("rules", "access", "no casino", "when", "hosts", "*.casino.test"));
    y = ConfigEditor.set(y, List.of("rules", "access", "no casino", "action", "block"));
    List<String> lines = ConfigEditor.displaySet(y);
    assertTrue(lines.contains("set rules access \"no casino\" when hosts *.casino.test"), lines.toString());
    assertTrue(lines.contains("set proxy listen 127.0.0.1:3128"), lines.toString());
    String rebuilt = "{}";
    for (String line : lines) {
      List<String> words = new java.util.ArrayList<>();
      var m = java.util.regex.Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"|(\\S+)").matcher(line.substring(4));
      while (m.find()) {
        words.add(m.group(1) != null ? m.group(1).replace("\\\"", "\"") : m.group(2));
      }
      rebuilt = ConfigEditor.set(rebuilt, words);
    }
    assertEquals(ConfigLoader.parse(y), ConfigLoader.parse(rebuilt));
  }
}
