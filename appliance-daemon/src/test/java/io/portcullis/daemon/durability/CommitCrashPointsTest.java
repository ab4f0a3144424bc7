package io.portcullis.daemon.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.testsupport.Host;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A commit killed by strace (SIGKILL as a system call of one of {@code CommitStore}'s steps begins; the call is not
 * made) must start again on the old revision or, once the commit point (the revision's rename) has passed, on the new
 * one, with the config file saying the same, the commit confirmed state to match, and no temp file left. strace's
 * {@code -P} matches a rename by its source only (a random temp name), so the points are the calls on fixed paths
 * just before and after each rename; a failed config file rename is in {@code CommitDiskFaultsTest}.
 */
class CommitCrashPointsTest {
  @TempDir
  Path dir;

  /**
   * Where to kill: at the first of {@code calls} on {@code path} (relative to the test's directory, {@code %d} the
   * new revision's number); {@code committed}: whether a start must run the new revision.
   */
  record Point(String name, String calls, String path, boolean confirmed, boolean committed) {
  }

  /** What {@code Files.exists} calls: RevisionStore checks that the revision's file is new just before writing it. */
  static final String EXISTS = "access,faccessat,faccessat2,stat,newfstatat,statx";

  static final List<Point> POINTS = List.of(
      new Point("as the revision is about to be written", EXISTS, "data/revisions/%06d.yaml", false, false),
      new Point("after the revision's rename, before its directory's fsync", "fsync", "data/revisions", false,
          true),
      new Point("after the config file's rename, before its directory's fsync", "fsync", "conf", false, true),
      new Point("commit confirmed: after its pending file, before its revision", "fsync", "data/revisions", true,
          false),
      new Point("commit confirmed: as the revision is about to be written", EXISTS, "data/revisions/%06d.yaml",
          true, false),
      new Point("commit confirmed: after the config file's rename", "fsync", "conf", true, true));

  @Test
  void aCommitStoppedAtAnyStepStartsAgainOnTheOldOrTheCommittedRevisionAndNothingElse() throws Exception {
    Strace.requireTracing(dir);
    Path root = dir.toRealPath();
    Path file = Files.createDirectories(root.resolve("conf")).resolve("portcullis.yaml");
    Path data = root.resolve("data");
    Path log = root.resolve("daemon.log");
    int admin = Host.freePort();
    int proxy = Host.freePort();
    Files.writeString(file, DaemonProcess.config(admin, proxy, 1));
    DaemonProcess.start(List.of(), file, data, admin, log).close(); // revision 1, the token, the TLS files
    List<String> problems = new ArrayList<>();
    int rules = 1;
    for (Point p : POINTS) {
      String old = Files.readString(file);
      String next = DaemonProcess.config(admin, proxy, ++rules);
      int oldRevision;
      int status = 0;
      String answer = "";
      try (DaemonProcess d = DaemonProcess.start(List.of(Strace.program(), "-f", "-qq", "-o", "/dev/null",
          "-P", root.resolve(p.path()).toString().formatted(revisionAfter(data)), "-e", "trace=" + p.calls(),
          "-e", "inject=" + p.calls() + ":error=EIO:signal=SIGKILL"), file, data, admin, log)) {
        oldRevision = d.active().getInteger("revision");
        try {
          DaemonProcess.Answer a = d.commit(next, p.confirmed() ? "1h" : null);
          status = a.status();
          answer = a.body();
        } catch (IOException e) {
          // killed while committing
        }
        if (status == 0) {
          d.awaitExit();
        }
      }
      try (DaemonProcess d = DaemonProcess.start(List.of(), file, data, admin, log)) {
        JsonObject active = d.active();
        String expected = p.committed() ? next : old;
        String runs = active.getString("yaml").equals(expected) ? "as expected"
            : active.getString("yaml").equals(old) ? "the old config" : active.getString("yaml").equals(next)
                ? "the new config" : "neither the old nor the new config";
        JsonObject pending = d.call("GET", "/api/v1/status", null).json().getJsonObject("pendingConfirm");
        List<String> wrong = new ArrayList<>();
        if (status != 0) {
          wrong.add("not killed: answered " + status + " " + answer);
        }
        if (!active.getString("yaml").equals(expected)) {
          wrong.add("runs " + runs);
        }
        if (active.getInteger("revision") != (p.committed() ? oldRevision + 1 : oldRevision)) {
          wrong.add("runs revision " + active.getInteger("revision") + " (was " + oldRevision + ")");
        }
        if (!Files.readString(file).equals(expected)) {
          wrong.add("the config file is not what runs");
        }
        if ((pending != null) != (p.confirmed() && p.committed())) {
          wrong.add("commit confirmed pending: " + pending);
        }
        if (!(p.confirmed() && p.committed()) && Files.exists(data.resolve("revisions/confirm-pending.properties"))) {
          wrong.add("a stale commit confirmed file is left");
        }
        List<Path> temps = DaemonProcess.tempFiles(root.resolve("conf"), data);
        if (!temps.isEmpty()) {
          wrong.add("temp files left: " + temps);
        }
        if (!wrong.isEmpty()) {
          problems.add(p.name() + ": " + String.join("; ", wrong));
        }
        if (pending != null) {
          assertEquals(200, d.call("POST", "/api/v1/commit/confirm", null).status());
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  /** The number the next revision in {@code data} gets. */
  private static int revisionAfter(Path data) throws IOException {
    try (var files = Files.list(data.resolve("revisions"))) {
      return files.map(f -> f.getFileName().toString()).filter(f -> f.matches("\\d{6}\\.yaml"))
          .mapToInt(f -> Integer.parseInt(f.substring(0, 6))).max().orElse(0) + 1;
    }
  }
}
