package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kills a JVM with SIGKILL in the middle of a commit loop and checks what is left on disk. */
class CommitCrashTest {

  /** A config large enough (~100 KB) that a kill often lands inside a write. */
  static String text(char variant) {
    StringBuilder sb = new StringBuilder("rules:\n  access:\n");
    for (int i = 0; i < 1500; i++) {
      sb.append("    - { name: rule-").append(variant).append(i).append(", action: block, when: { hosts: [\"*.host")
          .append(i).append(".example.test\"] } }\n");
    }
    return sb.toString();
  }

  @TempDir
  Path dir;

  @Test
  void configOnDiskIsAlwaysExactlyTheOldOrTheNewRevisionAfterSigkill() throws Exception {
    Set<String> whole = Set.of(text('a'), text('b'));
    Random random = new Random();
    for (int round = 0; round < 5; round++) {
      Path data = dir.resolve("round" + round);
      Files.createDirectories(data);
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
          CommitLoop.class.getName(), data.toString()).redirectErrorStream(true).start();
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      int target = 3 + random.nextInt(6);
      String line;
      int commits = 0;
      while ((line = out.readLine()) != null && commits < target) {
        if (line.startsWith("committed")) {
          commits++;
        }
      }
      assertEquals(target, commits, "child stopped early: " + line);
      Thread.sleep(random.nextInt(40));
      p.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no flush
      assertTrue(p.waitFor(30, TimeUnit.SECONDS));
      assertEquals(137, p.exitValue(), "the child must die by SIGKILL");

      String onDisk = Files.readString(data.resolve("portcullis.yaml"));
      assertTrue(whole.contains(onDisk), "config file is a mix or a fragment (" + onDisk.length() + " chars)");
      RevisionStore store = new RevisionStore(data.resolve("revisions"));
      List<Revision> revs = store.list();
      assertTrue(revs.size() >= target, "revisions " + revs.size());
      for (Revision r : revs) {
        String t = store.text(r.number()).orElseThrow();
        assertTrue(whole.contains(t), "revision " + r.number() + " is a mix or a fragment");
      }
      try (var files = Files.list(data.resolve("revisions"))) {
        assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(AtomicFiles.TEMP_PREFIX)),
            "reopening the store removes temp files a crash left");
      }
      // A restart on the file on disk keeps working: it becomes (or already is) the newest revision.
      CommitManager cm = new CommitManager(store, next -> CompletableFuture.completedFuture(null),
          data.resolve("portcullis.yaml"), onDisk, ConfigLoader.parse(onDisk), "restart");
      assertEquals(onDisk, store.text(cm.active().revision()).orElseThrow());
      cm.close();
    }
  }
}
