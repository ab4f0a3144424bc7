package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Secret values never reach what a person is shown; the rest of the text, comments included, stays as written. */
class RedactTest {
  static final String HASH = "$6$salt$0123456789abcdefghij";

  @Test
  void theSchemaMarksEverySecretKey() {
    assertEquals(java.util.Set.of("bindPassword", "joinKey", "password", "passwordHash", "secret"), Redact.NAMES);
  }

  @Test
  void secretsInBlockAndFlowStyleBecomeThePlaceholderAndTheRestStays() throws Exception {
    String text = """
        # the node's config
        proxy:
          auth:
            enabled: true
            users:
              - { name: alice, password: '%s', groups: [staff] }   # alice's hash
              - name: bob
                password: "%s"
        console:
          users:
            - name: admin
              passwordHash: %s
        cluster: { role: control, secret: "a very long cluster secret" }
        """.formatted(HASH, HASH + "b", "$pbkdf2-sha256$210000$c2FsdA$aGFzaA");
    String shown = Redact.yaml(text);
    assertFalse(shown.contains("$6$"), shown);
    assertFalse(shown.contains("pbkdf2"), shown);
    assertFalse(shown.contains("very long"), shown);
    assertEquals(4, shown.split("## SECRET-DATA", -1).length - 1, shown);
    assertTrue(shown.contains("- { name: alice, password: \"## SECRET-DATA\", groups: [staff] }   # alice's hash"),
        shown);
    assertTrue(shown.startsWith("# the node's config\nproxy:\n"), shown);
    // Still YAML, with the same keys: the placeholder is a quoted string.
    Object tree = new org.snakeyaml.engine.v2.api.Load(org.snakeyaml.engine.v2.api.LoadSettings.builder().build())
        .loadFromString(shown);
    assertTrue(tree.toString().contains("password=## SECRET-DATA"), tree.toString());
  }

  @Test
  void aKeyThatOnlyLooksSecretElsewhereIsLeftAlone() {
    String text = "rules:\n  access:\n    - { name: secret, action: block, when: { hosts: [password.test] } }\n";
    assertEquals(text, Redact.yaml(text), "a rule named secret is not a secret");
  }

  @Test
  void textThatIsNotYamlIsRedactedByKeyName() {
    String broken = "console:\n  users:\n    - { name: a, passwordHash: \"$pbkdf2-x\" \n  [unclosed\n";
    String shown = Redact.yaml(broken);
    assertFalse(shown.contains("pbkdf2"), shown);
    assertTrue(shown.contains("passwordHash: \"## SECRET-DATA\""), shown);
  }

  @Test
  void unparseableTextHidesAValueOnTheNextLineAndABlockScalar() {
    String broken = "cluster:\n  secret:\n    a-long-cluster-secret\n  joinKey: |\n    line one of it\n"
        + "  role: control\nconsole: [unclosed\n";
    String shown = Redact.yaml(broken);
    assertFalse(shown.contains("a-long-cluster-secret") || shown.contains("line one"), shown);
    assertTrue(shown.contains("  role: control"), "what is not secret stays: " + shown);
  }

  @Test
  void anAliasedSecretIsHiddenWhereItIsWritten() {
    String text = "x-hash: &h '" + HASH + "'\nproxy:\n  auth:\n    users:\n      - { name: a, password: *h }\n";
    String shown = Redact.yaml(text);
    assertFalse(shown.contains("$6$"), shown);
  }

  @Test
  void aDiffTellsThatASecretChangedButNotWhatItIs() {
    String a = "proxy:\n  auth:\n    users:\n      - { name: a, password: '" + HASH + "' }\n"
        + "      - { name: b, password: '" + HASH + "' }\n";
    String b = a.replaceFirst("0123", "9999");
    String diff = CommitManager.diff(a, "revision 1", b, "candidate");
    assertFalse(diff.contains("$6$"), diff);
    assertTrue(diff.contains("-      - { name: a, password: \"## SECRET-DATA\" }"), diff);
    assertTrue(diff.contains("+      - { name: a, password: \"## SECRET-DATA (changed)\" }"), diff);
    assertFalse(diff.contains("+      - { name: b"), "b's secret did not change: " + diff);
    assertEquals("", CommitManager.diff(a, "x", a, "y"));
  }

  @Test
  void editWordsHideWhatFollowsASecretKey() {
    assertEquals(List.of("console", "users", "admin", "passwordHash", Redact.PLACEHOLDER),
        Redact.words(List.of("console", "users", "admin", "passwordHash", "$pbkdf2-sha256$1$2$3")));
    assertEquals(List.of("cluster", "secret", Redact.PLACEHOLDER),
        Redact.words(List.of("cluster", "secret", "xyz")));
    assertEquals(List.of("proxy", "listen", "0.0.0.0:3128"), Redact.words(List.of("proxy", "listen", "0.0.0.0:3128")));
  }
}
