package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommitManagerTest {
  static final String A = "proxy:\n  listen: 127.0.0.1:3128\n";
  static final String B = "proxy:\n  listen: 127.0.0.1:3129\n";
  static final String C = "proxy:\n  listen: 127.0.0.1:3130\n";

  @TempDir
  Path dir;
  /** What the daemon side was asked to run, in order; fails when {@link #refuse} is set. */
  final List<Config> applied = new CopyOnWriteArrayList<>();
  volatile String refuse;
  CommitManager cm;

  CommitManager open(Path configFile) throws Exception {
    Config a = ConfigLoader.parse(A);
    cm = new CommitManager(new RevisionStore(dir.resolve("revisions")), next -> {
      if (refuse != null) {
        return CompletableFuture.failedFuture(new IllegalStateException(refuse));
      }
      applied.add(next);
      return CompletableFuture.completedFuture(null);
    }, configFile, A, a, "test");
    return cm;
  }

  @AfterEach
  void close() {
    if (cm != null) {
      cm.close();
    }
  }

  static int port(Config c) {
    return c.proxy().listen().port();
  }

  @Test
  void commitValidatesAppliesAndWritesANewRevisionAndTheConfigFile() throws Exception {
    Path file = dir.resolve("portcullis.yaml");
    Files.writeString(file, A);
    open(file);
    assertEquals(1, cm.active().revision());
    cm.setCandidate(B);
    assertTrue(cm.candidateChanged());
    Revision r = cm.commit("alice", "move proxy", null).get(10, TimeUnit.SECONDS);
    assertEquals(2, r.number());
    assertEquals("alice", r.author());
    assertEquals(3129, port(applied.get(0)));
    assertEquals(B, Files.readString(file));
    assertEquals(B, cm.revisionText(2).orElseThrow());
    assertEquals(2, cm.active().revision());
    assertFalse(cm.candidateChanged());
  }

  @Test
  void invalidCandidateIsRefusedWithItsProblemsAndNothingChanges() throws Exception {
    open(null);
    List<Problem> problems = cm.setCandidate("proxy: { listen: \"x:0\" }\n");
    assertEquals("proxy.listen", problems.get(0).path());
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> cm.commit("bob", "", null).get(10, TimeUnit.SECONDS));
    CommitManager.CommitException ce = (CommitManager.CommitException) e.getCause();
    assertEquals("proxy.listen", ce.problems().get(0).path());
    assertTrue(applied.isEmpty());
    assertEquals(1, cm.revisions().size());
  }

  @Test
  void failedApplyKeepsThePreviousRevisionAndSaysWhy() throws Exception {
    open(null);
    cm.setCandidate(B);
    refuse = "cannot listen on 127.0.0.1:3129: Address already in use";
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> cm.commit("bob", "", null).get(10, TimeUnit.SECONDS));
    assertTrue(e.getCause().getMessage().contains("Address already in use"), e.getCause().getMessage());
    assertTrue(e.getCause().getMessage().contains("revision 1 stays in effect"), e.getCause().getMessage());
    assertEquals(1, cm.active().revision());
    assertEquals(1, cm.revisions().size());
    assertEquals(B, cm.candidate());
  }

  @Test
  void rollbackMakesAnOldRevisionTheCandidate() throws Exception {
    open(null);
    cm.setCandidate(B);
    cm.commit("u", "b", null).get(10, TimeUnit.SECONDS);
    cm.setCandidate(C);
    cm.commit("u", "c", null).get(10, TimeUnit.SECONDS);
    cm.rollback(1);
    assertEquals(A, cm.candidate());
    assertEquals(3, cm.active().revision());
    Revision r = cm.commit("u", "back to 1", null).get(10, TimeUnit.SECONDS);
    assertEquals(4, r.number());
    assertEquals(3128, port(cm.active().config()));
    assertThrows(IllegalArgumentException.class, () -> cm.rollback(99));
  }

  @Test
  void compareShowsAUnifiedDiffFromActiveToCandidate() throws Exception {
    open(null);
    assertEquals("", cm.compare(null));
    cm.setCandidate(B);
    assertEquals("""
        --- revision 1 (active)
        +++ candidate
        @@ -1,2 +1,2 @@
         proxy:
        -  listen: 127.0.0.1:3128
        +  listen: 127.0.0.1:3129
        """, cm.compare(null));
    cm.commit("u", "", null).get(10, TimeUnit.SECONDS);
    cm.setCandidate(C);
    assertTrue(cm.compare(1).startsWith("--- revision 1\n+++ candidate\n"), cm.compare(1));
  }

  @Test
  void commitConfirmedRevertsByItselfWhenNotConfirmed() throws Exception {
    open(null);
    cm.setCandidate(B);
    Revision r = cm.commit("u", "try", Duration.ofMillis(300)).get(10, TimeUnit.SECONDS);
    assertEquals(2, r.number());
    assertTrue(cm.pending().isPresent());
    assertTrue(Files.exists(dir.resolve("revisions/confirm-pending.properties")));
    waitFor(() -> cm.active().revision() == 3);
    assertEquals(3128, port(cm.active().config()));
    assertEquals(A, cm.revisionText(3).orElseThrow());
    assertTrue(cm.revisions().get(2).message().contains("not confirmed"), cm.revisions().get(2).message());
    assertFalse(cm.pending().isPresent());
    assertFalse(Files.exists(dir.resolve("revisions/confirm-pending.properties")));
    assertEquals(List.of(3129, 3128), applied.stream().map(CommitManagerTest::port).toList());
  }

  @Test
  void confirmKeepsACommitConfirmed() throws Exception {
    open(null);
    cm.setCandidate(B);
    cm.commit("u", "try", Duration.ofMillis(400)).get(10, TimeUnit.SECONDS);
    Instant deadline = cm.pending().orElseThrow().deadline();
    assertEquals(2, cm.confirm().number());
    afterEverythingDueBy(deadline);
    assertEquals(2, cm.active().revision());
    assertEquals(2, cm.revisions().size());
    assertThrows(IllegalStateException.class, () -> cm.confirm());
  }

  @Test
  void plainCommitConfirmsAPendingCommitConfirmed() throws Exception {
    open(null);
    cm.setCandidate(B);
    cm.commit("u", "try", Duration.ofMillis(400)).get(10, TimeUnit.SECONDS);
    Instant deadline = cm.pending().orElseThrow().deadline();
    cm.commit("u", "", null).get(10, TimeUnit.SECONDS);
    assertFalse(cm.pending().isPresent());
    afterEverythingDueBy(deadline);
    assertEquals(2, cm.active().revision());
    assertEquals(List.of(3129), applied.stream().map(CommitManagerTest::port).toList(), "no revert was applied");
  }

  @Test
  void pendingConfirmSurvivesARestartAndRevertsAfterIt() throws Exception {
    open(null);
    cm.setCandidate(B);
    cm.commit("u", "try", Duration.ofMillis(500)).get(10, TimeUnit.SECONDS);
    cm.close();
    // The daemon restarts running revision 2; its deadline is still on disk.
    Config b = ConfigLoader.parse(B);
    cm = new CommitManager(new RevisionStore(dir.resolve("revisions")), next -> {
      applied.add(next);
      return CompletableFuture.completedFuture(null);
    }, null, B, b, "test restart");
    assertEquals(2, cm.active().revision());
    assertTrue(cm.pending().isPresent());
    waitFor(() -> cm.active().revision() == 3);
    assertEquals(3128, port(cm.active().config()));
  }

  @Test
  void startRecordsAnEditedConfigFileAsANewRevision() throws Exception {
    open(null);
    cm.close();
    cm = new CommitManager(new RevisionStore(dir.resolve("revisions")), next -> CompletableFuture.completedFuture(null),
        null, C, ConfigLoader.parse(C), "edited file");
    assertEquals(2, cm.active().revision());
    assertTrue(cm.revisions().get(1).message().contains("edited file"));
    cm.close();
    cm = new CommitManager(new RevisionStore(dir.resolve("revisions")), next -> CompletableFuture.completedFuture(null),
        null, C, ConfigLoader.parse(C), "same file");
    assertEquals(2, cm.active().revision(), "an unchanged file is not a new revision");
  }

  @Test
  void onlyTheNewestFiftyRevisionsAreKept() throws Exception {
    open(null);
    for (int i = 0; i < 55; i++) {
      cm.setCandidate("proxy:\n  listen: 127.0.0.1:" + (4000 + i) + "\n");
      cm.commit("u", "n" + i, null).get(10, TimeUnit.SECONDS);
    }
    List<Revision> revs = cm.revisions();
    assertEquals(RevisionStore.KEEP, revs.size());
    assertEquals(7, revs.get(0).number());
    assertEquals(56, revs.get(revs.size() - 1).number());
  }

  static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
    Host.waitUntil("the commit manager's state awaited", condition::getAsBoolean);
  }

  /**
   * Returns once the commit queue has handled all that the confirm timer had due by {@code deadline}: a revert due
   * then would have run before this returns. The witness is the queue itself: once the deadline has passed, a step
   * queued (a commit from the control node that changes nothing and confirms nothing) runs after the timer's task
   * due at the deadline (the timer's one thread takes tasks by due time), and so after any revert that task queued,
   * once a second such step has run too.
   */
  void afterEverythingDueBy(Instant deadline) throws Exception {
    Host.waitUntil("the commit confirmed deadline " + deadline + " to pass", () -> Instant.now().isAfter(deadline));
    for (int i = 0; i < 2; i++) {
      cm.commitFromControl(text -> text, "sentinel").get(10, TimeUnit.SECONDS);
    }
  }
}
