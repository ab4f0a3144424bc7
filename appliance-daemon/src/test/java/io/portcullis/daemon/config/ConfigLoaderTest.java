package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  private static List<Problem> problems(String yaml) {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(yaml));
    return e.problems();
  }

  private static Problem only(String yaml) {
    List<Problem> ps = problems(yaml);
    assertEquals(1, ps.size(), () -> "expected one problem, got " + ps);
    return ps.get(0);
  }

  @Test
  void emptyDocumentGivesTheDocumentedDefaults() throws Exception {
    Config c = ConfigLoader.parse("");
    assertEquals(new HostPort("127.0.0.1", 9090), c.admin().listen());
    assertTrue(c.proxy().enabled());
    assertEquals(new HostPort("0.0.0.0", 3128), c.proxy().listen());
    assertTrue(c.icap().enabled());
    assertEquals(new HostPort("0.0.0.0", 1344), c.icap().listen());
    assertFalse(c.balancer().enabled());
    assertEquals(List.of(), c.rules().access());
    assertEquals(Duration.ofSeconds(10), c.node().shutdownGrace());
  }

  @Test
  void embeddedDefaultFileMeansExactlyTheDefaults() throws Exception {
    assertEquals(Config.defaults(), ConfigLoader.parse(ConfigLoader.defaultText()));
  }

  @Test
  void accessRulesWithHostPatternsAreRead() throws Exception {
    Config c = ConfigLoader.parse("""
        rules:
          access:
            - name: block-example
              when:
                hosts: ["*.example.test"]
              action: block
            - name: go-elsewhere
              when: { hosts: [news.test], methods: [GET], clients: [10.0.0.0/8, "::1"] }
              action: redirect
              location: https://intranet.test/blocked
        """);
    AccessRule first = c.rules().access().get(0);
    assertEquals("block-example", first.name());
    assertEquals(List.of("*.example.test"), first.when().hosts());
    assertEquals(AccessRule.Action.BLOCK, first.action());
    assertNull(first.location());
    AccessRule second = c.rules().access().get(1);
    assertEquals(AccessRule.Action.REDIRECT, second.action());
    assertEquals("https://intranet.test/blocked", second.location());
    assertEquals(List.of(new Cidr("10.0.0.0", 8), new Cidr("0:0:0:0:0:0:0:1", 128)), second.when().clients());
  }

  @Test
  void portOutOfRangeIsNamedWithItsPathAndPosition() {
    Problem p = only("proxy:\n  listen: \"0.0.0.0:99999\"\n");
    assertEquals("proxy.listen", p.path());
    assertEquals("\"0.0.0.0:99999\" is not a port", p.message());
    assertEquals(2, p.line());
    assertEquals(11, p.column());
    assertEquals("proxy.listen: \"0.0.0.0:99999\" is not a port (line 2, column 11)", p.toString());
  }

  @Test
  void unknownKeyIsAnErrorWithASuggestion() {
    Problem p = only("proxy:\n  lisen: 0.0.0.0:3128\n");
    assertEquals("proxy.lisen", p.path());
    assertTrue(p.message().contains("did you mean \"listen\""), p.message());
  }

  @Test
  void thePackagedAndIsoConfigsAreValidAndSpellOutTheSecurityDefaults() throws Exception {
    Config defaults = ConfigLoader.parse("");
    for (String file : List.of("../packaging/etc/portcullis.yaml", "../iso-build/overlay/etc/portcullis/portcullis.yaml")) {
      String text = java.nio.file.Files.readString(java.nio.file.Path.of(file));
      Config c = ConfigLoader.parse(text);
      assertTrue(text.contains("deniedDestinations:") && text.contains("allowedClients:"), file);
      assertEquals(defaults.proxy().deniedDestinations(), c.proxy().deniedDestinations(), file);
      assertEquals(defaults.icap().allowedClients(), c.icap().allowedClients(), file);
      assertTrue(c.console().users().isEmpty(), file + ": no account anyone could log in to before a password is set");
      assertFalse(c.proxy().tls().inspect(), file + ": inspection is off until the CA is distributed");
    }
    // The shipped TLS exclusions (the ISO installs the same file from the package) load, and tunnel a pinned host.
    Config packaged = ConfigLoader.parse(java.nio.file.Files.readString(java.nio.file.Path.of(
        "../packaging/etc/portcullis.yaml")));
    var policy = io.portcullis.daemon.rules.Policy.compile(packaged.rules(), java.nio.file.Path.of("../packaging/etc"));
    var facts = new io.portcullis.daemon.rules.Facts("CONNECT", "courier.push.apple.com:443", "10.0.0.5", null, null,
        null, java.time.Instant.now());
    assertEquals(new io.portcullis.daemon.rules.Policy.TlsVerdict(TlsRule.Action.TUNNEL, "keep-private"),
        policy.tls(facts));
    assertEquals(null, policy.tls(new io.portcullis.daemon.rules.Facts("CONNECT", "www.example.com:443", "10.0.0.5",
        null, null, null, java.time.Instant.now())));
  }

  @Test
  void theRenamedPasswordAuthNamesItsNewName() {
    Problem p = only("console:\n  ssh: { passwordAuth: false }\n");
    assertEquals("console.ssh.passwordAuth", p.path());
    assertTrue(p.message().contains("passwordLogin"), p.message());
  }

  @Test
  void rolesAreSpelledWithAHyphen() throws Exception {
    assertEquals(ConsoleConfig.ConsoleUser.Role.READ_ONLY, ConfigLoader.parse("console:\n  users: [ { name: a } ]\n")
        .console().users().get(0).role(), "the default");
    assertEquals(ConsoleConfig.ConsoleUser.Role.READ_ONLY, ConfigLoader.parse(
        "console:\n  users: [ { name: a, role: read-only } ]\n").console().users().get(0).role());
    assertTrue(only("console:\n  users: [ { name: a, role: root } ]\n").message()
        .contains("admin, operator, read-only"));
  }

  @Test
  void unknownTopLevelSectionIsAnError() {
    assertEquals("proxxy", only("proxxy: {}\n").path());
  }

  @Test
  void wrongTypesAreErrors() {
    assertEquals("\"yes\" is not true or false", only("proxy: { enabled: yes }").message());
    assertTrue(only("node: { shutdownGrace: 10 }").message().contains("is not a duration"));
    assertTrue(only("proxy: [1, 2]").message().startsWith("must be a mapping"));
    assertTrue(only("rules: { access: {name: x} }").message().startsWith("must be a list"));
    assertTrue(only("proxy: { listen: [a] }").message().startsWith("must be a single value"));
    assertEquals("\"deny\" is not one of allow, block, redirect",
        only("rules: { access: [ { name: a, action: deny } ] }").message());
  }

  @Test
  void badAddressesAreErrors() {
    assertEquals("\"3128\" is not host:port", only("proxy: { listen: \"3128\" }").message());
    assertTrue(only("proxy: { listen: \"bad host:80\" }").message().contains("no valid host"));
    assertTrue(only("proxy: { listen: \"::1:80\" }").message().contains("brackets"));
    assertEquals(new HostPort("::1", 3128), HostPort.parse("[::1]:3128"));
    assertEquals("[::1]:3128", HostPort.parse("[::1]:3128").toString());
  }

  @Test
  void badCidrsAreErrors() {
    Problem p = only("rules: { access: [ { name: a, action: allow, when: { clients: [10.0.0.0/33] } } ] }");
    assertEquals("rules.access[0].when.clients[0]", p.path());
    assertEquals("\"10.0.0.0/33\" has a prefix length outside 0-32", p.message());
    assertEquals("\"300.1.1.1\" is not an IP address or CIDR",
        only("rules: { access: [ { name: a, action: allow, when: { clients: [300.1.1.1] } } ] }").message());
  }

  @Test
  void badUrlsAreErrors() {
    Problem p = only("rules: { access: [ { name: a, action: redirect, location: \"ftp://x.test/\" } ] }");
    assertEquals("rules.access[0].location", p.path());
    assertTrue(p.message().contains("not an absolute http(s) URL"), p.message());
    assertTrue(only("rules: { access: [ { name: a, action: redirect, location: \"http://x y/\" } ] }")
        .message().contains("is not an absolute http(s) URL"));
    assertTrue(only("rules: { access: [ { name: a, action: allow, when: { urls: [\"regex:(\"] } } ] }")
        .message().startsWith("is not a valid regex"));
  }

  @Test
  void redirectNeedsALocationAndOnlyRedirectHasOne() {
    assertEquals("is required when action is redirect",
        only("rules: { access: [ { name: a, action: redirect } ] }").message());
    assertEquals("is only for action redirect",
        only("rules: { access: [ { name: a, action: block, location: \"http://x.test/\" } ] }").message());
  }

  @Test
  void missingRequiredKeysAreErrors() {
    Problem p = only("rules: { access: [ { name: a } ] }");
    assertEquals("rules.access[0].action", p.path());
    assertEquals("is required (one of allow, block, redirect)", p.message());
  }

  @Test
  void duplicateNamesAreErrors() {
    Problem p = only("""
        rules:
          access:
            - { name: same, action: allow }
            - { name: other, action: allow }
            - { name: same, action: block }
        """);
    assertEquals("rules.access[2].name", p.path());
    assertEquals("duplicate name \"same\" (first at rules.access[0])", p.message());
  }

  @Test
  void duplicateKeysAreErrors() {
    Problem p = only("proxy:\n  enabled: true\n  enabled: false\n");
    assertEquals("proxy.enabled", p.path());
    assertEquals("is given twice", p.message());
  }

  @Test
  void danglingReferencesAreErrors() {
    Problem p = only("""
        rules:
          categories:
            - { name: gambling, file: gambling.txt }
          access:
            - { name: a, action: block, when: { categories: [gambling, casinos] } }
        """);
    assertEquals("rules.access[0].when.categories[1]", p.path());
    assertEquals("\"casinos\" names no item of rules.categories (known: gambling)", p.message());
  }

  @Test
  void adminApiStaysOnLoopbackUnlessAllowed() throws Exception {
    assertTrue(only("admin: { listen: 0.0.0.0:9090 }").message().contains("not a loopback address"));
    assertEquals(new HostPort("0.0.0.0", 9090),
        ConfigLoader.parse("admin: { listen: 0.0.0.0:9090, allowRemote: true }").admin().listen());
  }

  @Test
  void invalidYamlIsOneProblemWithItsPosition() {
    Problem p = only("proxy:\n  listen: [unclosed\n");
    assertTrue(p.message().startsWith("is not valid YAML"), p.message());
    assertTrue(p.line() > 0);
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    List<Problem> ps = problems("""
        node: { name: "bad name!", shutdownGrace: forever }
        admin: { listen: "127.0.0.1:0" }
        proxy: { listen: "0.0.0.0:99999", enabled: maybe }
        icap: { port: 1344 }
        rules:
          access:
            - { name: r1, action: redirect }
            - { name: r1, action: allow, when: { hosts: ["bad host"], categories: [nowhere] } }
        """);
    String all = ps.stream().map(Problem::toString).collect(Collectors.joining("\n"));
    List<String> paths = ps.stream().map(Problem::path).toList();
    assertTrue(paths.containsAll(List.of("node.shutdownGrace", "admin.listen", "proxy.listen", "proxy.enabled",
        "icap.port", "rules.access[0].location", "rules.access[1].when.hosts[0]",
        "rules.access[1].when.categories[0]")), all);
    assertTrue(ps.size() >= 8, all);
  }

  @Test
  void sendProxyIsForTcpFrontendsWhoseChecksCanReachTheServers() throws Exception {
    String tcp = """
        balancer:
          frontends:
            - { name: sq, listen: 127.0.0.1:3129, mode: tcp, sendProxy: %s, check: %s,
                servers: [{ name: a, address: 127.0.0.1:3128 }] }
        """;
    assertEquals(BalancerConfig.SendProxy.V2, ConfigLoader.parse(tcp.formatted("v2", "{ type: tcp }")).balancer()
        .frontends().get(0).sendProxy());
    assertEquals(BalancerConfig.SendProxy.NONE, ConfigLoader.parse(tcp.formatted("none", "{ type: http }"))
        .balancer().frontends().get(0).sendProxy());
    ConfigLoader.parse(tcp.formatted("v1", "{ type: http, port: 9090, path: /health/ready }")); // a port of its own
    Problem p = only(tcp.formatted("v1", "{ type: icap }"));
    assertEquals("balancer.frontends[0].check.type", p.path());
    assertTrue(p.message().contains("PROXY header"), p.message());
    p = only(tcp.replace("mode: tcp", "mode: http").formatted("v1", "{ type: tcp }"));
    assertEquals("balancer.frontends[0].sendProxy", p.path());
    assertTrue(p.message().contains("X-Forwarded-For"), p.message());
  }

  @Test
  void writtenConfigReadsBackEqual() throws Exception {
    Config c = ConfigLoader.parse("""
        node: { name: edge-1, shutdownGrace: 1500ms }
        admin: { listen: "[::1]:9191" }
        proxy: { enabled: false, listen: 10.1.2.3:8080 }
        icap: { listen: 127.0.0.1:11344 }
        balancer:
          enabled: true
          frontends:
            - name: icap
              listen: 127.0.0.1:1345
              mode: tcp
              method: source
              check: { type: icap, path: /av/respmod, interval: 500ms, rise: 3 }
              servers: [{ name: a, address: 10.0.0.1:1344, weight: 2 }, { name: b, address: "[::1]:1344", backup: true, state: drain }]
            - { name: web, listen: 127.0.0.1:8080, check: { type: http, expect: [200, 204] }, servers: [{ name: a, address: 10.0.0.1:3128 }] }
        rules:
          categories: [ { name: news, file: news.txt } ]
          access:
            - name: r1
              when: { hosts: ["*.example.test", "a?.test"], urls: ["regex:^http://x/.*"], methods: [GET],
                      clients: [192.168.0.0/16], categories: [news] }
              action: redirect
              location: "https://portal.test/why?x=1"
            - { name: r2, action: allow }
        """);
    String yaml = ConfigLoader.write(c);
    assertEquals(c, ConfigLoader.parse(yaml), yaml);
    assertEquals(yaml, ConfigLoader.write(ConfigLoader.parse(yaml)));
    assertEquals(Config.defaults(), ConfigLoader.parse(ConfigLoader.write(Config.defaults())));

    // The digest (the ICAP server's ISTag) follows the content, not the text: equal for the same config written
    // another way, different when one value changes.
    assertArrayEquals(ConfigLoader.digest(c), ConfigLoader.digest(ConfigLoader.parse(yaml)));
    assertFalse(Arrays.equals(ConfigLoader.digest(c),
        ConfigLoader.digest(ConfigLoader.parse(yaml.replace("portal.test", "portal2.test")))));
    assertFalse(Arrays.equals(ConfigLoader.digest(Config.defaults()), ConfigLoader.digest(c)));
  }

  @Test
  void problemsInALargeFileStillNameTheirLine() {
    // The file is read without marks first (they double what a large file needs); a file with problems is read again
    // with them, so the position is still there.
    StringBuilder y = new StringBuilder("rules:\n  access:\n");
    for (int i = 0; i < 2000; i++) {
      y.append("    - { name: r").append(i).append(", action: block, when: { hosts: [h").append(i).append(".test] } }\n");
    }
    y.append("    - { name: bad, action: block, when: { hosts: [x.test], ports: [70000] } }\n");
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(y.toString()));
    assertEquals(2003, e.problems().get(0).line(), e.getMessage());
  }

  @Test
  void durationsKeepTheirExactValue() {
    for (String s : List.of("0s", "1ms", "1500ms", "2s", "90s", "5m", "2h", "3d")) {
      assertEquals(Durations.parse(s), Durations.parse(Durations.format(Durations.parse(s))), s);
    }
    assertEquals("90s", Durations.format(Durations.parse("90s")));
    assertEquals("1m", Durations.format(Durations.parse("60s")));
  }
}
