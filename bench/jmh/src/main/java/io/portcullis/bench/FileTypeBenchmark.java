package io.portcullis.bench;

import io.portcullis.daemon.rules.FileTypes;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
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
 * True file type of a body from its first bytes, over a mix of real heads: ELF (/bin/true), zip and OOXML
 * (java.util.zip), gzip, PDF, PNG, a shell script and unknown random bytes.
 * Run: {@code java -jar bench/jmh/target/benchmarks.jar FileTypeBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FileTypeBenchmark {
  byte[][] heads;
  int next;

  @Setup
  public void setup() throws Exception {
    byte[] elf = Files.readAllBytes(Path.of("/bin/true"));
    byte[] zip = zip("a.txt");
    byte[] ooxml = zip("[Content_Types].xml", "word/document.xml");
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
      g.write("hello".getBytes(StandardCharsets.US_ASCII));
    }
    byte[] random = new byte[FileTypes.HEAD];
    new Random(3).nextBytes(random);
    random[0] = 'x';
    heads = new byte[][] {elf, zip, ooxml, gz.toByteArray(), "%PDF-1.7\n%\u00e2\u00e3\n1 0 obj".getBytes(StandardCharsets.ISO_8859_1),
        new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13},
        "#!/bin/sh\necho hello\n".getBytes(StandardCharsets.US_ASCII), random};
    for (int i = 0; i < heads.length; i++) {
      heads[i] = Arrays.copyOf(heads[i], Math.min(heads[i].length, FileTypes.HEAD));
    }
  }

  static byte[] zip(String... names) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      for (String n : names) {
        z.putNextEntry(new ZipEntry(n));
        z.write("content".getBytes(StandardCharsets.US_ASCII));
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  @Benchmark
  public String detect() {
    byte[] h = heads[next++ & 7];
    return FileTypes.detect(h, h.length);
  }
}
