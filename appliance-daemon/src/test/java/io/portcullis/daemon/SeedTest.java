package io.portcullis.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SeedTest {
  static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq1pX0Yb2m7c9bB0xZ6yL2o3fQ0n1m2k3j4h5g6f7e8 ops@fleet";

  @TempDir
  Path dir;

  @Test
  void answersFromTheEnvironmentAndTheFileMakeTheAdminTheNameAndTheRole() throws Exception {
    Path file = dir.resolve("seed.env");
    Files.writeString(file, """
        # written by cloud-init
        export PORTCULLIS_ADMIN_SSH_KEY="%s"
        PORTCULLIS_ROLE=icap
        PORTCULLIS_NODE_NAME=from-file
        """.formatted(KEY));
    Seed seed = Seed.read(Map.of("PORTCULLIS_ADMIN_PASSWORD", "s3cret-pass", "PORTCULLIS_NODE_NAME", "from-env",
        "PORTCULLIS_JAVA_OPTS", "-Xmx64m", "HOME", "/root"), file);
    Config c = ConfigLoader.parse(seed.applyTo(ConfigLoader.defaultText()));
    assertEquals("from-file", c.node().name(), "the file wins over the environment");
    var admin = c.console().users().get(0);
    assertEquals("admin", admin.name());
    assertTrue(PasswordHash.check("s3cret-pass".toCharArray(), admin.passwordHash()), "a plain answer is hashed");
    assertFalse(seed.applyTo("{}").contains("s3cret-pass"), "the plain password never reaches the config");
    assertEquals(List.of(KEY), admin.authorizedKeys());
    assertTrue(c.console().ssh().enabled(), "an admin given at install gets the SSH console");
    assertFalse(c.proxy().enabled());
    assertTrue(c.icap().enabled());
  }

  @Test
  void theMarkerKeepsARestartFromApplyingTheSameAnswersAgain() throws Exception {
    Seed seed = Seed.read(Map.of("PORTCULLIS_ROLE", "proxy"), null);
    assertFalse(seed.appliedIn(dir));
    seed.markApplied(dir);
    assertTrue(seed.appliedIn(dir));
    assertFalse(Seed.read(Map.of("PORTCULLIS_ROLE", "gateway"), null).appliedIn(dir), "new answers apply");
  }

  @Test
  void noAnswersIsEmpty() throws Exception {
    assertTrue(Seed.read(Map.of("PATH", "/bin", "PORTCULLIS_DATA_DIR", "/x", "PORTCULLIS_SERVICE_HOST", "10.0.0.7"),
        dir.resolve("missing.env")).isEmpty(), "other PORTCULLIS_ variables in the environment are not answers");
  }

  @Test
  void unusableAnswersAreRefusedNamingTheKey() throws Exception {
    Path typo = dir.resolve("typo.env");
    Files.writeString(typo, "PORTCULLIS_ADMIN_PASWORD=x\n");
    assertTrue(assertThrows(Seed.SeedException.class, () -> Seed.read(Map.of(), typo))
        .getMessage().startsWith("PORTCULLIS_ADMIN_PASWORD is not an answer"));
    assertTrue(assertThrows(Seed.SeedException.class, () -> Seed.read(Map.of("PORTCULLIS_ROLE", "router"), null)
        .applyTo("{}")).getMessage().contains("PORTCULLIS_ROLE router"));
    assertTrue(assertThrows(Seed.SeedException.class, () -> Seed.read(Map.of("PORTCULLIS_ADMIN_PASSWORD_HASH",
        "plain"), null).applyTo("{}")).getMessage().contains("PORTCULLIS_ADMIN_PASSWORD_HASH"));
    assertTrue(assertThrows(Seed.SeedException.class, () -> Seed.read(Map.of("PORTCULLIS_ADMIN_USER", "ops"), null)
        .applyTo("{}")).getMessage().contains("needs"));
    Path bad = dir.resolve("bad.env");
    Files.writeString(bad, "PORTCULLIS_ROLE icap\n");
    assertTrue(assertThrows(Seed.SeedException.class, () -> Seed.read(Map.of(), bad)).getMessage()
        .endsWith(":1: not a KEY=value line"));
  }
}
