package io.portcullis.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.testsupport.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Temp files a crash left (they may hold a key or the config's secrets) are gone from every directory written. */
class LeftoverTempFilesTest {
  @TempDir
  Path dir;

  @Test
  void aStartDeletesTempFilesInTheConfigDirectoryAndEveryDirectoryOfTheDataDir() throws Exception {
    Path data = dir.resolve("data");
    List<Path> left = new ArrayList<>();
    for (String d : List.of("", "revisions", "admin-tls", "cluster", "cluster/control", "cluster/control/nodes",
        "cluster/node", "network", "events")) {
      Path p = Files.createDirectories(data.resolve(d)).resolve(".tmp-secret.key-0");
      Files.writeString(p, "-----BEGIN PRIVATE KEY-----\n");
      left.add(p);
    }
    left.add(Files.writeString(dir.resolve(".tmp-portcullis.yaml-0"), "secret: 1\n"));
    Path kept = Files.writeString(data.resolve("cluster/control/nodes/n1.crt"), "cert\n");
    int admin = Host.freePort();
    String text = "node: { name: leftovers, shutdownGrace: 1s }\n"
        + "admin: { listen: 127.0.0.1:" + admin + " }\n"
        + "proxy: { listen: 127.0.0.1:" + Host.freePort() + ", deniedDestinations: [] }\n"
        + "icap: { enabled: false }\n";
    Path file = Files.writeString(dir.resolve("portcullis.yaml"), text);
    Daemon daemon = Daemon.start(new Daemon.Options(data, file), text, ConfigLoader.parse(text), "test");
    try {
      assertEquals(List.of(), left.stream().filter(Files::exists).toList());
      assertTrue(Files.exists(kept), "only temp files go");
    } finally {
      daemon.stop();
    }
  }
}
