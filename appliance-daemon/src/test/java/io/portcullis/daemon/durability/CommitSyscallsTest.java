package io.portcullis.daemon.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durability, which a SIGKILL test cannot show (the page cache survives it): the system calls of real commits, traced
 * with strace, must fsync every file before it is renamed into place and its directory after, and fsync the directory
 * after the commit confirmed file is deleted; and the writes must come in the order {@code CommitStore} documents.
 */
class CommitSyscallsTest {
  @TempDir
  Path dir;

  @Test
  void everyFileRenamedIntoPlaceIsSyncedBeforeAndItsDirectoryAfterAndTheCommitWritesComeInOrder() throws Exception {
    Strace.requireTracing(dir);
    Path root = dir.toRealPath(); // strace shows real paths
    Path conf = Files.createDirectories(root.resolve("conf"));
    Path file = conf.resolve("portcullis.yaml");
    Path data = root.resolve("data");
    Path revisions = data.resolve("revisions");
    int admin = Host.freePort();
    int proxy = Host.freePort();
    Files.writeString(file, DaemonProcess.config(admin, proxy, 1));
    Path trace = dir.resolve("trace");
    try (DaemonProcess d = DaemonProcess.start(List.of(Strace.program(), "-f", "-qq", "-y", "-o", trace.toString(),
        "-e", Strace.FILE_CALLS), file, data, admin, dir.resolve("daemon.log"))) {
      assertEquals(200, d.commit(DaemonProcess.config(admin, proxy, 2), null).status(), d.log());
      assertEquals(200, d.commit(DaemonProcess.config(admin, proxy, 3), "1h").status(), d.log());
      assertEquals(200, d.call("POST", "/api/v1/commit/confirm", null).status(), d.log());
    }
    List<Strace.Call> calls = Strace.parse(trace);
    Predicate<Path> ours = p -> p.startsWith(conf) || p.startsWith(data);

    List<String> problems = new ArrayList<>();
    int renames = 0;
    for (Strace.Call c : calls) {
      if (c.name().startsWith("rename") && ours.test(c.paths().get(1))) {
        renames++;
        Path from = c.paths().get(0);
        Path to = c.paths().get(1);
        if (find(calls, x -> isSync(x, from) && x.end() < c.start()).isEmpty()) {
          problems.add(c + ": " + from.getFileName() + " was not fsync'd before it was renamed");
        }
        if (find(calls, x -> isSync(x, to.getParent()) && x.start() > c.end() && x.tid() == c.tid()).isEmpty()) {
          problems.add(c + ": " + to.getParent() + " was not fsync'd after the rename");
        }
      }
    }
    Path pending = revisions.resolve("confirm-pending.properties");
    Optional<Strace.Call> delete = find(calls, c -> c.name().startsWith("unlink") && c.paths().contains(pending));
    assertTrue(delete.isPresent(), "the confirm deleted the commit confirmed file");
    Strace.Call del = delete.get();
    if (find(calls, x -> isSync(x, revisions) && x.start() > del.end() && x.tid() == del.tid()).isEmpty()) {
      problems.add(del + ": " + revisions + " was not fsync'd after the delete");
    }

    // The commit record comes after what a crash must find with it, and before the config file (CommitStore).
    int rev2 = renameTo(calls, revisions.resolve("000002.yaml"));
    int rev3 = renameTo(calls, revisions.resolve("000003.yaml"));
    int pendingWritten = renameTo(calls, pending);
    List<Integer> configWrites = calls.stream().filter(c -> c.name().startsWith("rename") && c.paths().get(1)
        .equals(file)).map(Strace.Call::start).toList();
    assertEquals(2, configWrites.size(), "the config file was written once per commit: " + configWrites);
    if (!(rev2 < configWrites.get(0) && pendingWritten < rev3 && rev3 < configWrites.get(1))) {
      problems.add("out of order (lines): revision 2 at " + rev2 + ", config file at " + configWrites.get(0)
          + "; commit confirmed file at " + pendingWritten + ", revision 3 at " + rev3 + ", config file at "
          + configWrites.get(1) + ": a revision must come after its commit confirmed file and before the config"
          + " file");
    }
    assertTrue(renames >= 5, "renames traced: " + renames);
    assertEquals(List.of(), problems);
  }

  private static boolean isSync(Strace.Call c, Path p) {
    return (c.name().equals("fsync") || c.name().equals("fdatasync")) && c.paths().equals(List.of(p));
  }

  private static int renameTo(List<Strace.Call> calls, Path to) {
    return find(calls, c -> c.name().startsWith("rename") && c.paths().get(1).equals(to))
        .map(Strace.Call::start).orElseThrow(() -> new AssertionError("no rename to " + to + " traced"));
  }

  private static Optional<Strace.Call> find(List<Strace.Call> calls, Predicate<Strace.Call> p) {
    return calls.stream().filter(p).findFirst();
  }
}
