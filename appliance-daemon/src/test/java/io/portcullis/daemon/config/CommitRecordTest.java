package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a commit leaves on disk when it cannot be recorded, and what a start then runs (see {@link CommitStore}). */
class CommitRecordTest {
  static final String A = "proxy:\n  listen: 127.0.0.1:3128\n";
  static final String B = "proxy:\n  listen: 127.0.0.1:3129\n";

  @TempDir
  Path dir;
  final List<Integer> applied = new CopyOnWriteArrayList<>();
  CommitManager cm;

  CommitManager open(Path file, String text) throws Exception {
    cm = new CommitManager(new RevisionStore(dir.resolve("revisions")), next -> {
      applied.add(next.proxy().listen().port());
      return CompletableFuture.completedFuture(null);
    }, file, text, ConfigLoader.parse(text), "test");
    return cm;
  }

  @AfterEach
  void close() {
    if (cm != null) {
      cm.close();
    }
  }

  @Test
  void aCommitWhoseRevisionCannotBeWrittenLeavesTheConfigFileAsItWasAndIsRefused() throws Exception {
    Path conf = Files.createDirectories(dir.resolve("conf"));
    Path file = conf.resolve("portcullis.yaml");
    Files.writeString(file, A);
    open(file, A);
    // The revisions directory cannot be written, whoever runs the test (root included): a file is in its place.
    Path revisions = dir.resolve("revisions");
    Files.move(revisions, dir.resolve("revisions.away"));
    Files.writeString(revisions, "");
    cm.setCandidate(B);
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> cm.commit("u", "", null).get(10, TimeUnit.SECONDS));
    assertEquals(A, Files.readString(file), "the refused text is not in the config file");
    assertTrue(e.getCause() instanceof CommitManager.CommitException, e.toString());
    assertTrue(e.getCause().getMessage().contains("revision 1 stays in effect"), e.getCause().getMessage());
    assertEquals(1, cm.active().revision());
    assertEquals(List.of(3129, 3128), applied, "applied, then the old config put back");
    try (var files = Files.list(conf)) {
      assertEquals(List.of(file), files.toList(), "no temp file left");
    }

    cm.close();
    Files.delete(revisions);
    Files.move(dir.resolve("revisions.away"), revisions);
    String text = Files.readString(file);
    assertEquals(A, text);
    open(file, text);
    assertEquals(1, cm.active().revision(), "a restart runs revision 1, not a new one");
  }

  @Test
  void aConfigFileEditedWhileStoppedRunsEvenBackToAnOlderTextAndBecomesARevision() throws Exception {
    Path file = dir.resolve("portcullis.yaml");
    Files.writeString(file, A);
    open(file, A);
    cm.setCandidate(B);
    cm.commit("u", "", null).get(10, TimeUnit.SECONDS);
    cm.close();
    Path backup = dir.resolve("backup.yaml");
    Files.writeString(backup, A);
    Files.copy(backup, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING); // the admin restores a backup

    CommitStore.Start start = CommitStore.startText(file, dir.resolve("revisions"));
    assertEquals(A, start.text(), "the admin's file runs, not revision 2");
    assertEquals(file.toString(), start.source());
    open(file, start.text());
    assertEquals(3, cm.active().revision());
    assertEquals(A, Files.readString(file));
  }
}
