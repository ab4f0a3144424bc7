package io.portcullis.testsupport;

import java.nio.file.Files;
import java.nio.file.Path;

/** A real clamd (Debian clamav-daemon) on loopback with signatures the test writes (no download is possible here). */
public final class Clamd {
  private Clamd() {
  }

  /** Starts clamd on 127.0.0.1:port with {@code signatures} (file name → content, e.g. test.ndb) in its database. */
  public static Process start(Path dir, int port, java.util.Map<String, String> signatures) throws Exception {
    String clamd = Peers.require("clamd", "clamav-daemon");
    Path db = dir.resolve("db");
    Files.createDirectories(db);
    for (var e : signatures.entrySet()) {
      Files.writeString(db.resolve(e.getKey()), e.getValue());
    }
    Path conf = dir.resolve("clamd.conf");
    Files.writeString(conf, String.join("\n",
        "Foreground yes",
        "DatabaseDirectory " + db,
        "TCPSocket " + port,
        "TCPAddr 127.0.0.1",
        "LogFile " + dir.resolve("clamd.log"),
        "PidFile " + dir.resolve("clamd.pid"),
        "User root",
        "StreamMaxLength 64M",
        "MaxThreads 4",
        "") + "\n");
    Peers.openUp(dir);
    Process p = new ProcessBuilder(clamd, "-c", conf.toString()).redirectErrorStream(true)
        .redirectOutput(dir.resolve("clamd.out").toFile()).start();
    Peers.waitForPort(port, p, dir.resolve("clamd.out"));
    return p;
  }
}
