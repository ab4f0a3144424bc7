package io.portcullis.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A second build of the same sources, in another directory ({@code ./mvnw -Pdist package}, offline: this build
 * fetched everything), gives byte-identical artifacts: both jars, the DEB, the RPM and the OCI tar
 * (project.build.outputTimestamp fixes every entry time; the image's runtime files are stamped at 0).
 */
class ReproducibleBuildTest {
  static final List<String> ARTIFACTS = List.of("appliance-daemon/target/portcullis-daemon.jar",
      "console/target/portcullis-console.jar", "deb/target/portcullis_0.1.0~SNAPSHOT_all.deb",
      "rpm/target/portcullis-0.1.0-0.SNAPSHOT.noarch.rpm", "oci/target/portcullis-oci.tar");

  static String sha256(Path p) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p)));
  }

  @Test
  void aSecondBuildElsewhereGivesByteIdenticalArtifacts() throws Exception {
    Path top = Path.of("..").toAbsolutePath().normalize();
    Path copy = Files.createTempDirectory("portcullis-rebuild");
    try {
      Process tar = new ProcessBuilder("sh", "-c", "tar -C \"$0\" --exclude=./.git --exclude=target -cf - . "
          + "| tar -C \"$1\" -xf -", top.toString(), copy.toString()).inheritIO().start();
      assertEquals(0, tar.waitFor());
      Process mvn = new ProcessBuilder("./mvnw", "-B", "-q", "-o", "-Pdist", "-Diso.skip=true", "package").directory(copy.toFile())
          .redirectErrorStream(true).redirectOutput(new File("target/rebuild.log")).start();
      assertTrue(mvn.waitFor(15, TimeUnit.MINUTES), "the rebuild ends");
      assertEquals(0, mvn.exitValue(), Files.readString(Path.of("target/rebuild.log"), StandardCharsets.UTF_8));
      Map<String, String> first = new LinkedHashMap<>();
      Map<String, String> second = new LinkedHashMap<>();
      for (String a : ARTIFACTS) {
        first.put(a, sha256(top.resolve(a)));
        second.put(a, sha256(copy.resolve(a)));
      }
      assertEquals(first, second);
    } finally {
      new ProcessBuilder("rm", "-rf", copy.toString()).start().waitFor();
    }
  }
}
