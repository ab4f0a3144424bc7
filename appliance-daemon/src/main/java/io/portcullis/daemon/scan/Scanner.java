package io.portcullis.daemon.scan;

import io.portcullis.daemon.config.ScanConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the configured engines on a body, on its own threads (never an event loop), within a timeout. The first engine
 * that finds a threat decides; if none does and one failed, the result is that failure.
 */
public final class Scanner implements AutoCloseable {
  private final List<ScanEngine> engines;
  private final ExecutorService pool;
  private final Duration timeout;
  private final long maxSize;

  public Scanner(List<ScanEngine> engines, int threads, Duration timeout, long maxSize) {
    this.engines = List.copyOf(engines);
    this.timeout = timeout;
    this.maxSize = maxSize;
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "portcullis-scan-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  /** The engines of a {@code scan} config section; hash lists are read relative to {@code baseDir}. */
  public static Scanner of(ScanConfig c, Path baseDir) throws IOException {
    List<ScanEngine> engines = new ArrayList<>();
    List<Path> lists = c.hashLists().stream().map(baseDir::resolve).toList();
    if (c.eicar() || !lists.isEmpty()) {
      engines.add(new BuiltinEngine(c.eicar(), BuiltinEngine.loadHashLists(lists)));
    }
    ScanConfig.Clamd clamd = c.clamd();
    if (clamd.enabled()) {
      engines.add(new ClamdEngine(clamd.address(), clamd.address() == null ? Path.of(clamd.socket()) : null,
          clamd.maxConnections(), clamd.connectTimeout(), c.timeout()));
    }
    return new Scanner(engines, c.threads(), c.timeout(), c.maxSize());
  }

  /** Bodies larger than this are not scanned (the default bypass). */
  public long maxSize() {
    return maxSize;
  }

  public boolean hasEngines() {
    return !engines.isEmpty();
  }

  /** Scans {@code data[0..length)}; completes on a scan thread. */
  public CompletableFuture<ScanResult> scan(byte[] data, int length) {
    if (engines.isEmpty()) {
      return CompletableFuture.completedFuture(new ScanResult.Failed("no scan engine is configured", "none"));
    }
    return CompletableFuture.supplyAsync(() -> {
      ScanResult failure = null;
      for (ScanEngine e : engines) {
        ScanResult r = e.scan(data, length);
        if (r instanceof ScanResult.Infected) {
          return r;
        }
        if (r instanceof ScanResult.Failed && failure == null) {
          failure = r;
        }
      }
      return failure == null ? ScanResult.CLEAN : failure;
    }, pool).orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(t -> {
      Throwable c = t.getCause() != null ? t.getCause() : t;
      return new ScanResult.Failed(c instanceof TimeoutException ? "scan took longer than " + timeout.toMillis()
          + " ms" : String.valueOf(c), "scanner");
    });
  }

  @Override
  public void close() {
    pool.shutdown();
    for (ScanEngine e : engines) {
      if (e instanceof AutoCloseable c) {
        try {
          c.close();
        } catch (Exception ignored) {
          // best effort
        }
      }
    }
  }
}
