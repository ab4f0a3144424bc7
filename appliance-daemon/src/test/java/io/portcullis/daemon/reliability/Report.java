package io.portcullis.daemon.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

  /** How one case of a hostile suite ended, as its family's row counts it. */
  interface Outcome {
    String family();

    boolean passed();

    boolean hang();

    /** Whether something hidden got through (where the suite looks for it). */
    boolean smuggled();
  }

  /**
   * A row per family of {@code outcomes} (in the order first met) under {@code area}: tried, passed, a crash unless the
   * server is {@code alive}, hangs, and smuggled if the suite {@code looksForSmuggling} (else the column does not apply).
   */
  static void families(String area, List<? extends Outcome> outcomes, boolean alive, boolean looksForSmuggling) {
    Map<String, long[]> byFamily = new LinkedHashMap<>();
    for (Outcome o : outcomes) {
      long[] f = byFamily.computeIfAbsent(o.family(), k -> new long[4]);
      f[0]++;
      f[1] += o.passed() ? 1 : 0;
      f[2] += o.hang() ? 1 : 0;
      f[3] += o.smuggled() ? 1 : 0;
    }
    byFamily.forEach((family, f) -> row(area, family, f[0], f[1], alive ? 0 : 1, f[2], looksForSmuggling ? f[3] : -1,
        -1, -1, ""));
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
