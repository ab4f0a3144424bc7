package io.portcullis.bench;

import io.portcullis.daemon.rules.CategoryDb;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One URL category lookup in a list of a million domains (host, its parent domains, path prefixes), for hosts that
 * are listed, listed through a parent, and not listed. Prints how long the million entries took to load.
 * Run: {@code java -jar bench/jmh/target/benchmarks.jar CategoryBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx1g"})
public class CategoryBenchmark {
  static final int ENTRIES = 1_000_000;
  CategoryDb db;
  String[] hosts;
  int next;

  @Setup
  public void setup() throws Exception {
    Path dir = Files.createTempDirectory("category-bench");
    Path file = CategoryFiles.write(dir, ENTRIES);
    long t0 = System.nanoTime();
    db = CategoryDb.load(List.of("big"), List.of(file));
    System.out.printf("%n# %d category entries loaded in %d ms%n", db.entries(), (System.nanoTime() - t0) / 1_000_000);
    Random r = new Random(7);
    hosts = new String[4096];
    for (int i = 0; i < hosts.length; i++) {
      hosts[i] = switch (i % 3) {
        case 0 -> "site" + r.nextInt(ENTRIES) + ".cat.test";         // listed
        case 1 -> "www.site" + r.nextInt(ENTRIES) + ".cat.test";     // listed through its parent
        default -> "host" + r.nextInt(ENTRIES) + ".example.org";     // not listed
      };
    }
  }

  @Benchmark
  public long lookup() {
    return db.lookup(hosts[next++ & (hosts.length - 1)], "/index.html");
  }
}
