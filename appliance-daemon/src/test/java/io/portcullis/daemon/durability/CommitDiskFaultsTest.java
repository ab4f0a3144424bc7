package io.portcullis.daemon.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.testsupport.Host;
import io.vertx.core.json.JsonObject;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real disk faults under a running daemon (root: they mount): a full disk (a small tmpfs) holding the revisions or the
 * config file refuses the commit, saying so, and leaves everything as it was; a config file that cannot be replaced
 * after the revision was recorded leaves a commit that stands, which the next start runs.
 */
class CommitDiskFaultsTest {
  @TempDir
  Path dir;
  Path root;
  int admin;
  int proxy;

  @BeforeEach
  void root() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mounts file systems: runs as root (CI)");
    root = dir.toRealPath();
    admin = Host.freePort();
    proxy = Host.freePort();
  }

  @ParameterizedTest
  @ValueSource(strings = {"data", "conf"})
  void aFullDiskRefusesTheCommitSayingSoAndARestartRunsTheOldRevision(String full) throws Exception {
    Path mount = Files.createDirectories(root.resolve("small"));
    mount("-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mount.toString());
    try {
      Path conf = Files.createDirectories((full.equals("conf") ? mount : root).resolve("conf"));
      Path data = (full.equals("data") ? mount : root).resolve("data");
      Path file = conf.resolve("portcullis.yaml");
      String old = DaemonProcess.config(admin, proxy, 1);
      String big = DaemonProcess.config(admin, proxy, 3000);
      Files.writeString(file, old);
      Path log = root.resolve("daemon.log");
      try (DaemonProcess d = DaemonProcess.start(List.of(), file, data, admin, log)) {
        long free = fill(mount.resolve("filler"), 64 * 1024);
        assertTrue(free < big.length(), "left " + free + " bytes, less than the new revision");
        DaemonProcess.Answer a = d.commit(big, null);
        assertEquals(old, Files.readString(file), "the refused text is not in the config file: " + a.body());
        JsonObject active = d.active();
        assertEquals(1, active.getInteger("revision"));
        assertEquals(old, active.getString("yaml"));
        assertEquals(507, a.status(), a.body());
        String error = a.json().getString("error");
        Path where = full.equals("data") ? data.resolve("revisions") : file;
        assertTrue(error.contains("no space left on the disk holding " + where), error);
        assertTrue(error.contains("revision 1 stays in effect"), error);
        assertEquals(List.of(), DaemonProcess.tempFiles(conf, data));
        Files.delete(mount.resolve("filler"));
      }
      try (DaemonProcess d = DaemonProcess.start(List.of(), file, data, admin, log)) {
        JsonObject active = d.active();
        assertEquals(1, active.getInteger("revision"));
        assertEquals(old, active.getString("yaml"));
        assertEquals(old, Files.readString(file));
        assertEquals(200, d.commit(big, null).status(), "with space again the commit goes through");
        assertEquals(big, Files.readString(file));
      }
    } finally {
      mount("-u", mount.toString());
    }
  }

  @Test
  void aConfigFileThatCannotBeReplacedLeavesACommitThatStandsAndTheNextStartRunsIt() throws Exception {
    Path conf = Files.createDirectories(root.resolve("conf"));
    Path file = conf.resolve("portcullis.yaml");
    Path data = root.resolve("data");
    Path log = root.resolve("daemon.log");
    String old = DaemonProcess.config(admin, proxy, 1);
    String next = DaemonProcess.config(admin, proxy, 2);
    Files.writeString(file, old);
    try (DaemonProcess d = DaemonProcess.start(List.of(), file, data, admin, log)) {
      // A file mounted on itself cannot be renamed over (EBUSY) but stays the very same file.
      mount("--bind", file.toString(), file.toString());
      try {
        DaemonProcess.Answer a = d.commit(next, null);
        assertEquals(200, a.status(), a.body());
        assertEquals(2, a.json().getInteger("revision"));
        assertEquals(next, d.active().getString("yaml"));
      } finally {
        mount("-u", file.toString());
      }
      assertEquals(old, Files.readString(file));
      d.kill(); // no orderly stop: nothing may depend on one
    }
    try (DaemonProcess d = DaemonProcess.start(List.of(), file, data, admin, log)) {
      JsonObject active = d.active();
      assertEquals(2, active.getInteger("revision"), "the revision answered runs");
      assertEquals(next, active.getString("yaml"));
      assertEquals(next, Files.readString(file), "the start rewrote the config file");
      assertEquals(List.of(), DaemonProcess.tempFiles(conf, data));
      assertTrue(d.log().contains("was not rewritten before the daemon stopped"), d.log());
    }
  }

  /** Runs mount (or umount for {@code -u}), failing with its output if it fails. */
  private static void mount(String... args) throws Exception {
    boolean un = args[0].equals("-u");
    String[] cmd = new String[un ? 2 : args.length + 1];
    cmd[0] = un ? "umount" : "mount";
    System.arraycopy(args, un ? 1 : 0, cmd, 1, un ? 1 : args.length);
    Host.Run r = Host.run(cmd);
    assertEquals(0, r.exit(), String.join(" ", cmd) + ": " + r.output());
  }

  /** Fills the file system of {@code filler} until about {@code leave} bytes are free; returns what is free. */
  private static long fill(Path filler, long leave) throws Exception {
    var store = Files.getFileStore(filler.getParent());
    long size = (store.getUsableSpace() - leave) / 4096 * 4096;
    byte[] block = new byte[1 << 16];
    try (OutputStream out = Files.newOutputStream(filler)) {
      for (long n = 0; n < size; n += block.length) {
        out.write(block, 0, (int) Math.min(block.length, size - n));
      }
    }
    return store.getUsableSpace();
  }
}
