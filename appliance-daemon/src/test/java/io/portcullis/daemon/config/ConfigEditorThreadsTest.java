package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * ConfigEditor from several threads at once, as a cluster node's apply, console sessions and the admin API use it:
 * each call's text is what it is alone (a YAML dumper shared between threads once mixed their maps, and a node
 * failed a commit with "keyNode must be provided").
 */
class ConfigEditorThreadsTest {
  @Test
  void mergesAtOnceGiveWhatEachGivesAlone() throws Exception {
    StringBuilder shared = new StringBuilder("proxy:\n  listen: 127.0.0.1:3128\nrules:\n  access:\n");
    for (int i = 0; i < 40; i++) {
      shared.append("    - { name: r").append(i).append(", when: { hosts: [\"h").append(i)
          .append(".test\"] }, action: block }\n");
    }
    String local = "node: { name: n2 }\nadmin: { listen: 127.0.0.1:9091 }\nproxy:\n  listen: 127.0.0.1:3129\n";
    List<String> paths = List.of("node", "admin", "proxy.listen");
    String alone = ConfigEditor.withLocal(shared.toString(), local, paths);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<String>> runs = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        Callable<String> c = () -> {
          for (int i = 0; i < 300; i++) {
            String got = ConfigEditor.withLocal(shared.toString(), local, paths);
            if (!got.equals(alone)) {
              return got;
            }
          }
          return alone;
        };
        runs.add(pool.submit(c));
      }
      for (Future<String> r : runs) {
        assertEquals(alone, r.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
