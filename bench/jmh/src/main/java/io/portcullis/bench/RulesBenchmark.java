package io.portcullis.bench;

import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.RulesConfig;
import io.portcullis.daemon.rules.Decision;
import io.portcullis.daemon.rules.Facts;
import io.portcullis.daemon.rules.Policy;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
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
 * One access decision among 100 000 rules (exact hosts, domains, URL patterns, client networks, and a category of a
 * million entries), for requests that hit and miss. Prints the heap the compiled policy holds.
 * Run: {@code java -jar bench/jmh/target/benchmarks.jar RulesBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx1g"})
public class RulesBenchmark {
  static final int RULES = 100_000;
  static final int CATEGORY = 1_000_000;
  Policy policy;
  Facts[] requests;
  int next;

  @Setup
  public void setup() throws Exception {
    Path dir = Files.createTempDirectory("rules-bench");
    CategoryFiles.write(dir, CATEGORY);
    StringBuilder y = new StringBuilder("rules:\n  categories: [ { name: big, file: big.txt } ]\n  access:\n");
    Random r = new Random(1);
    for (int i = 0; i < RULES; i++) {
      y.append("    - { name: r").append(i).append(", action: block, when: { ");
      switch (i % 5) {
        case 0 -> y.append("hosts: [h").append(i).append(".test]");
        case 1 -> y.append("hosts: [\"*.d").append(i).append(".test\"]");
        case 2 -> y.append("urls: [\"http://u").append(i).append(".test/path*\"]");
        case 3 -> y.append("clients: [10.").append(r.nextInt(256)).append('.').append(r.nextInt(256))
            .append(".0/24], methods: [POST]");
        default -> y.append(i % 2 == 0 ? "urls: [\"*/seg" + i + "/*\"]" // no host: filed by a trigram
            : "urls: [\"regex:/id" + i + "[0-9]*\\\\.js\"]");
      }
      y.append(" } }\n");
    }
    y.append("    - { name: by-category, action: block, when: { categories: [big] } }\n");
    RulesConfig rules = ConfigLoader.parse(y.toString()).rules();
    System.gc();
    long before = usedHeap();
    policy = Policy.compile(rules, dir);
    System.gc();
    System.out.printf("%n# compiled policy (%d access rules, %d category entries): %d MiB of heap%n",
        policy.accessRules(), policy.categories().entries(), (usedHeap() - before) >> 20);
    requests = new Facts[4096];
    for (int i = 0; i < requests.length; i++) {
      int k = r.nextInt(RULES);
      String url = switch (i % 6) {
        case 0 -> "http://h" + k + ".test/x";
        case 4 -> "http://any" + r.nextInt(1000) + ".example/" + (k % 2 == 0 ? "seg" + k + "/x" : "a/id" + k + "7.js");
        case 1 -> "http://www.d" + k + ".test/x";
        case 2 -> "http://u" + k + ".test/path/a?b=c";
        case 3 -> "http://site" + r.nextInt(CATEGORY) + ".cat.test/";
        default -> "http://miss" + k + ".example/";
      };
      requests[i] = new Facts(i % 7 == 0 ? "POST" : "GET", url, "10." + r.nextInt(256) + "." + r.nextInt(256) + ".9",
          null, List.of(), null, Instant.now());
    }
  }

  static long usedHeap() {
    var m = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
    return m.getUsed();
  }

  @Benchmark
  public Decision decide() {
    Facts f = requests[next++ & (requests.length - 1)];
    // Facts cache their category lookup: reset it so every decision pays the full price.
    return policy.access(f.fresh());
  }
}
