package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every file key of the schema stays inside the config's directory, however the name is written. */
class ConfigFilesTest {
  @TempDir
  Path root;
  Path etc;
  Path logs;
  Path outside;

  @BeforeEach
  void dirs() throws Exception {
    etc = Files.createDirectories(root.resolve("etc"));
    logs = Files.createDirectories(root.resolve("logs"));
    outside = Files.writeString(root.resolve("secret.html"), "not for the proxy's users\n");
    Files.writeString(etc.resolve("page.html"), "<p>blocked</p>");
    Files.createDirectories(etc.resolve("pages"));
    Files.writeString(etc.resolve("pages/inner.html"), "<p>blocked</p>");
  }

  List<Problem> check(String yaml) throws Exception {
    return new ConfigFiles(etc, logs).check(ConfigLoader.parse(yaml));
  }

  static String paths(List<Problem> problems) {
    return problems.stream().map(Problem::path).collect(Collectors.joining(","));
  }

  static String template(String file) {
    return "rules:\n  access:\n    - { name: b, action: block, template: \"" + file + "\" }\n";
  }

  @Test
  void namesInsideTheConfigDirectoryPass() throws Exception {
    assertEquals(List.of(), check(template("page.html")));
    assertEquals(List.of(), check(template("pages/inner.html")));
    assertEquals(List.of(), check(template("pages/../page.html")));
    assertEquals(List.of(), check(template(etc.resolve("page.html").toString())));
    assertEquals(List.of(), check(template("/usr/share/portcullis/templates/block.html")), "the packaged templates");
  }

  @Test
  void absolutePathsElsewhereAreRefusedWithTheKeysPath() throws Exception {
    List<Problem> p = check(template(outside.toString()));
    assertEquals("rules.access[0].template", paths(p));
    assertTrue(p.get(0).message().contains("not inside the config's directory " + etc), p.toString());
    assertEquals("rules.access[0].template", paths(check(template("/etc/shadow"))));
    assertEquals("rules.access[0].template", paths(check(template("/usr/share/portcullis/templates/../../../etc/x"))));
  }

  @Test
  void aTemplateMustBeAnHtmlFileSoThatTheConfigOrAKeyIsNeverServed() throws Exception {
    Files.writeString(etc.resolve("portcullis.yaml"), "console: {}\n");
    List<Problem> p = check(template("portcullis.yaml"));
    assertEquals("rules.access[0].template", paths(p));
    assertTrue(p.get(0).message().contains("must end in .html or .htm"), p.toString());
    assertEquals("proxy.accessLog", paths(check("proxy: { accessLog: " + logs.resolve("portcullis.log") + " }\n")),
        "not the daemon's own (audit) log");
  }

  @Test
  void dotDotThatLeavesTheDirectoryIsRefused() throws Exception {
    assertEquals("rules.access[0].template", paths(check(template("../secret.html"))));
    assertEquals("rules.access[0].template", paths(check(template("pages/../../secret.html"))));
    assertEquals("rules.access[0].template", paths(check(template(".."))));
    assertEquals("rules.access[0].template", paths(check(template("."))), "the directory itself is not a file");
  }

  @Test
  void symbolicLinksWhoseRealPathLeavesAreRefused() throws Exception {
    Files.createSymbolicLink(etc.resolve("link.html"), outside);
    Files.createSymbolicLink(etc.resolve("dirlink"), root);
    Files.createSymbolicLink(etc.resolve("dangling.log"), root.resolve("nowhere/x.log"));
    Files.createSymbolicLink(etc.resolve("ok.html"), etc.resolve("page.html"));
    List<Problem> p = check(template("link.html"));
    assertEquals("rules.access[0].template", paths(p));
    assertTrue(p.get(0).message().contains("symbolic link to " + outside.toRealPath()), p.toString());
    assertEquals("rules.access[0].template", paths(check(template("dirlink/secret.html"))));
    assertEquals(List.of(), check(template("ok.html")), "a link that stays inside is fine");
    assertEquals("proxy.accessLog", paths(check("proxy: { accessLog: dangling.log }\n")));
  }

  @Test
  void everyFileKeyOfTheSchemaIsChecked() throws Exception {
    String out = outside.toString();
    List<Problem> p = check("""
        proxy:
          accessLog: /tmp/x/access.log
          auth:
            enabled: true
            htpasswd: OUT
            ldap: { url: "ldap://127.0.0.1", userBase: "dc=x", trust: OUT }
            negotiate: { keytab: OUT, krb5Conf: OUT }
          tls: { ca: { certificate: OUT, key: OUT }, trust: [ok.pem, OUT] }
        scan: { hashLists: [ok.txt, OUT], clamd: { socket: OUT } }
        admin: { tls: { certificate: OUT, key: OUT } }
        events:
          syslog:
            - { name: s, address: "127.0.0.1:6514", transport: tls, ca: OUT }
        rules:
          categories:
            - { name: c, file: OUT }
          access:
            - { name: a, action: block, template: OUT }
          protection:
            - { name: p, action: block, template: OUT }
        """.replace("OUT", out));
    assertEquals(List.of("admin.tls.certificate", "admin.tls.key", "events.syslog[0].ca", "proxy.accessLog",
        "proxy.auth.htpasswd", "proxy.auth.ldap.trust", "proxy.auth.negotiate.keytab",
        "proxy.auth.negotiate.krb5Conf", "proxy.tls.ca.certificate", "proxy.tls.ca.key", "proxy.tls.trust[1]",
        "rules.access[0].template", "rules.categories[0].file", "rules.protection[0].template",
        "scan.clamd.socket", "scan.hashLists[1]"), p.stream().map(Problem::path).sorted().toList());
    // Every file key the schema has is in the config above: a new one must be added there to be tested.
    assertEquals(ConfigSchema.keys().stream().filter(k -> k.file() != null).map(ConfigSchema.Key::path).sorted()
        .toList(), p.stream().map(x -> x.path().replaceAll("\\[\\d+]$", "").replaceAll("\\[\\d+]", "[]")).distinct().sorted()
        .toList());
  }

  @Test
  void clamdsSocketMayBeInClamavsRunDirectoryOrTheConfigsNowhereElse() throws Exception {
    assertEquals(List.of(), check("scan: { clamd: { socket: /run/clamav/clamd.ctl } }\n"), "Debian's");
    assertEquals(List.of(), check("scan: { clamd: { socket: /var/run/clamav/clamd.ctl } }\n"));
    assertEquals(List.of(), check("scan: { clamd: { socket: /run/clamd.scan/clamd.sock } }\n"), "Red Hat's");
    assertEquals(List.of(), check("scan: { clamd: { socket: clamd.sock } }\n"), "a test's, beside its config");
    for (String other : List.of("/run/docker.sock", "/var/run/docker.sock", "/run/clamav/../dbus/system_bus_socket",
        "/run/systemd/private", root.resolve("x.sock").toString())) {
      assertEquals("scan.clamd.socket", paths(check("scan: { clamd: { socket: \"" + other + "\" } }\n")), other);
    }
  }

  @Test
  void logsMayAlsoGoToTheLogDirectory() throws Exception {
    assertEquals(List.of(), check("proxy: { accessLog: " + logs.resolve("access.log") + " }\n"));
    assertEquals(List.of(), check("proxy: { accessLog: access.log }\n"));
    assertEquals("proxy.accessLog", paths(check("proxy: { accessLog: portcullis.yaml }\n")),
        "a log appended to the config file itself");
    assertEquals("proxy.accessLog", paths(check("proxy: { accessLog: page.html }\n")));
    assertEquals("proxy.accessLog", paths(check("proxy: { accessLog: " + root.resolve("access.log") + " }\n")));
    assertEquals("scan.hashLists[0]", paths(check("scan: { hashLists: [" + logs.resolve("h.txt") + "] }\n")),
        "only logs may be in the log directory");
  }
}
