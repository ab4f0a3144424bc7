package io.portcullis.daemon.config;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Run in a child JVM by {@link CommitCrashTest}: commits two configs in turn, forever, until killed. */
public final class CommitLoop {
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    Path file = dir.resolve("portcullis.yaml");
    String a = CommitCrashTest.text('a');
    String b = CommitCrashTest.text('b');
    java.nio.file.Files.writeString(file, a);
    CommitManager cm = new CommitManager(new RevisionStore(dir.resolve("revisions")),
        next -> CompletableFuture.completedFuture(null), file, a, ConfigLoader.parse(a), "loop");
    for (int i = 0; ; i++) {
      cm.setCandidate(i % 2 == 0 ? b : a);
      cm.commit("loop", "n" + i, null).get(30, TimeUnit.SECONDS);
      System.out.println("committed " + i);
      System.out.flush();
    }
  }
}
