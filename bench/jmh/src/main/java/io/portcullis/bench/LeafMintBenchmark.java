package io.portcullis.bench;

import io.portcullis.daemon.config.TlsConfig;
import io.portcullis.daemon.tls.InspectionCa;
import io.portcullis.daemon.tls.LeafCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What an inspected CONNECT will pay for its certificate: a miss signs a new leaf with the node's EC P-256 CA (every
 * call a new host, so the cache also drops its eldest); a hit finds the leaf kept, by server name or by the names of
 * the origin's certificate (read from it on every lookup).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class LeafMintBenchmark {
  Path dir;
  LeafCertificates leaves;
  X509Certificate origin;
  long next;

  @Setup
  public void setUp() throws Exception {
    dir = Files.createTempDirectory("leaf-bench");
    // As the config reads it, so that a new key of proxy.tls changes nothing here.
    TlsConfig config = io.portcullis.daemon.config.ConfigLoader.parse("proxy: { tls: { cache: { maxEntries: 1024 } } }")
        .proxy().tls();
    leaves = new LeafCertificates(InspectionCa.loadOrCreate(dir.resolve("node"), null, dir), config);
    // An origin's certificate with names, made by another CA the same way.
    origin = new LeafCertificates(InspectionCa.loadOrCreate(dir.resolve("origin"), null, dir), config)
        .leafFor("www.example.test", null).certificate();
    leaves.leafFor("www.example.test", null);
    leaves.leafFor("www.example.test", origin);
  }

  @TearDown
  public void tearDown() throws Exception {
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p); // the CAs' keys too: a benchmark leaves no key behind
      }
    }
  }

  @Benchmark
  public LeafCertificates.Leaf miss() {
    return leaves.leafFor("h" + next++ + ".example.test", null);
  }

  @Benchmark
  public LeafCertificates.Leaf hitByServerName() {
    return leaves.leafFor("www.example.test", null);
  }

  @Benchmark
  public LeafCertificates.Leaf hitByOriginCertificate() {
    return leaves.leafFor("www.example.test", origin);
  }
}
