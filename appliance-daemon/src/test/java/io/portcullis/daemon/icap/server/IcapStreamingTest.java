package io.portcullis.daemon.icap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.Main;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.testsupport.Host;
import io.portcullis.testsupport.Peers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 1 GiB RESPMOD body echoed through a daemon whose heap is capped at 64 MiB: it streams or it dies. */
class IcapStreamingTest {
  @TempDir
  Path dir;

  @Test
  void oneGibibyteRespmodBodyIsEchoedThroughA64MibHeap() throws Exception {
    int icap = Host.freePort();
    Path conf = dir.resolve("p.yaml");
    Files.writeString(conf, "admin: { listen: 127.0.0.1:" + Host.freePort() + " }\nproxy: { enabled: false }\n"
        + "icap: { listen: 127.0.0.1:" + icap + " }\n");
    Process daemon = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx64m", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "--config", conf.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
    try {
      Peers.waitForPort(icap, daemon, dir.resolve("daemon.log"));
      long total = 1L << 30;
      byte[] block = new byte[64 * 1024];
      for (int i = 0; i < block.length; i++) {
        block[i] = (byte) (i * 7 + (i >> 8));
      }
      byte[] chunk = IcapEncoder.chunk(block);
      try (IcapTestClient c = new IcapTestClient(icap)) {
        c.keepBodies = false;
        c.send(IcapServerTest.respmod(total, ""));
        CompletableFuture<IcapTestClient.Answer> answer = CompletableFuture.supplyAsync(() -> {
          try {
            return c.read();
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        for (long sent = 0; sent < total; sent += block.length) {
          c.send(chunk);
        }
        c.send(IcapEncoder.LAST_CHUNK);
        IcapTestClient.Answer a = answer.get(5, TimeUnit.MINUTES);
        assertEquals(200, a.head().status());
        assertEquals(total, c.bodyBytes, "echoed body length");
      }
      assertTrue(daemon.isAlive(), "daemon died: " + Peers.read(dir.resolve("daemon.log")));
      String log = Peers.read(dir.resolve("daemon.log"));
      assertTrue(!log.contains("OutOfMemoryError"), log);
    } catch (Exception e) {
      // The log read once the daemon has stopped (or died): all it wrote is in, where a pause only hoped so.
      daemon.destroy();
      daemon.waitFor(20, TimeUnit.SECONDS);
      throw new AssertionError("daemon log: " + Peers.read(dir.resolve("daemon.log")), e);
    } finally {
      daemon.destroy();
      daemon.waitFor(20, TimeUnit.SECONDS);
    }
  }

}
