package io.portcullis.daemon.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The JVM's default memory bounds live in one file, packaging/share/jvm.options; every launcher passes it (java
 * @FILE) before its own options, and every package puts it where its launcher looks. A launcher that forgot it, or a
 * package that did not ship it, would run the daemon unbounded (or not at all): this reads them all.
 */
class JvmOptionsTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path OPTIONS = ROOT.resolve("packaging/share/jvm.options");
  private static final String INSTALLED = "/usr/share/portcullis/jvm.options";

  @Test
  void aJvmStartedWithTheFileHasTheBounds() throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "@" + OPTIONS, "-XX:+PrintFlagsFinal", "-version")
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    assertTrue(!out.contains("warning"), "the JVM takes the options without a warning: " + out);
    Map<String, Long> flags = new HashMap<>();
    Matcher m = Pattern.compile("(?m)^\\s*\\S+\\s+(\\w+)\\s+=\\s+(\\d+)\\s+\\{[^}]*\\}\\s+\\{command line\\}").matcher(out);
    while (m.find()) {
      flags.put(m.group(1), Long.parseLong(m.group(2)));
    }
    // heap, its young part, direct memory (Netty), metaspace and compiled code: each set, none left to the JVM
    for (String f : List.of("MaxHeapSize", "MaxNewSize", "MaxDirectMemorySize", "MaxMetaspaceSize",
        "ReservedCodeCacheSize")) {
      assertTrue(flags.containsKey(f), f + " is set by the file: " + flags);
    }
    assertTrue(flags.get("MaxHeapSize") <= 512L << 20, "a heap for an appliance, not a quarter of the host");
    assertTrue(flags.get("MaxNewSize") < flags.get("MaxHeapSize") / 2);
  }

  @Test
  void everyLauncherPassesTheFileBeforeItsOwnOptions() throws IOException {
    String appliance = Files.readString(ROOT.resolve("run-appliance"));
    assertTrue(appliance.contains("exec java @packaging/share/jvm.options ${PORTCULLIS_JAVA_OPTS:-} -jar"),
        "./run-appliance: the file, then PORTCULLIS_JAVA_OPTS (later options win)");
    String portcullisd = Files.readString(ROOT.resolve("packaging/bin/portcullisd"));
    assertTrue(Pattern.compile("exec \"\\$java\" @" + Pattern.quote(INSTALLED) + " [^\\n]*\\$\\{PORTCULLIS_JAVA_OPTS:-}"
        + "[^\\n]* -jar").matcher(portcullisd).find(), "portcullisd: the installed file, then PORTCULLIS_JAVA_OPTS");
    String oci = Files.readString(ROOT.resolve("oci/pom.xml"));
    Matcher entry = Pattern.compile("<entrypoint>(.*?)</entrypoint>", Pattern.DOTALL).matcher(oci);
    assertTrue(entry.find(), "the OCI image's entrypoint");
    List<String> args = Pattern.compile("<arg>([^<]*)</arg>").matcher(entry.group(1)).results()
        .map(r -> r.group(1)).toList();
    assertEquals("@" + INSTALLED, args.get(1), "the OCI entrypoint: java, then the file: " + args);
    String iso = Files.readString(ROOT.resolve("iso-build/build-iso.sh"));
    assertTrue(iso.contains("@" + INSTALLED + " -XX:ArchiveClassesAtExit"),
        "the ISO's class-data-sharing archive is made by a JVM with the same options as the service's");
  }

  @Test
  void theInstallGuideListsEachOptionOfTheFile() throws IOException {
    String guide = Files.readString(ROOT.resolve("docs/install.md"));
    for (String line : Files.readAllLines(OPTIONS)) {
      String option = line.replaceAll("#.*", "").strip();
      if (!option.isEmpty()) {
        assertTrue(guide.contains(option), "docs/install.md names " + option);
      }
    }
  }

  @Test
  void everyPackageShipsTheFileWhereItsLauncherReadsIt() throws IOException {
    String deb = Files.readString(ROOT.resolve("deb/pom.xml"));
    assertTrue(Pattern.compile("<src>\\$\\{project.basedir}/../packaging/share/jvm.options</src>\\s*<type>file</type>"
        + "\\s*<mapper><type>perm</type><prefix>/usr/share/portcullis</prefix>").matcher(deb).find(), "the DEB");
    String rpm = Files.readString(ROOT.resolve("rpm/pom.xml"));
    assertTrue(rpm.contains("<name>" + INSTALLED + "</name><file>${project.basedir}/../packaging/share/jvm.options"
        + "</file>"), "the RPM");
    String root = Files.readString(ROOT.resolve("oci/build-root.sh"));
    assertTrue(root.contains("cp \"$packaging/share/jvm.options\" \"$out" + INSTALLED + "\""), "the OCI image");
  }
}
