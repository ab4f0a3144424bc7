package io.portcullis.daemon.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The reliability suite's figures: each test adds rows to {@code target/reliability/results.tsv} (area, what,
 * tried, passed, crashes, hangs, smuggled, failed requests, detection ms, note), which {@code reliability/run} prints
 * as one table. Written as the tests go, so a run cut short still shows what it did.
 */
public final class Report {
  static final Path FILE = Path.of("target", "reliability", "results.tsv");

  private static boolean started;

  private Report() {
  }

  /** One row; {@code -1} where a column does not apply. */
  public static synchronized void row(String area, String what, long tried, long passed, long crashes, long hangs,
      long smuggled, long failedRequests, long detectionMs, String note) {
    String line = String.join("\t", area, what, n(tried), n(passed), n(crashes), n(hangs), n(smuggled),
        n(failedRequests), n(detectionMs), note == null ? "" : note.replace('\t', ' ').replace('\n', ' ')) + "\n";
    System.out.print("reliability: " + line);
    try {
      Files.createDirectories(FILE.getParent());
      if (!started) {
        started = true;
        Files.deleteIfExists(FILE); // one run's rows: the suite's test classes share one JVM
      }
      Files.writeString(FILE, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String n(long v) {
    return v < 0 ? "-" : Long.toString(v);
  }
}
