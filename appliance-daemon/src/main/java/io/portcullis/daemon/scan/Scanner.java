package io.portcullis.daemon.scan;

import io.portcullis.daemon.config.ScanConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs the configured engines on a body, on its own threads (never an event loop), within a timeout. The first engine
 * that finds a threat decides; if none does and one failed, the result is that failure.
 */
public final class Scanner implements AutoCloseable {
  /** Parts of a multipart body scanned one by one, at most (a form of 1000 tiny fields must not cost 1000 scans). */
  static final int MAX_PARTS = 100;
  private final List<ScanEngine> engines;
  private final ThreadPoolExecutor pool;
  private final Duration timeout;
  private final long maxSize;
  private final boolean blockOverMaxSize;
  private final int queue;

  public Scanner(List<ScanEngine> engines, int threads, int queue, Duration timeout, long maxSize) {
    this(engines, threads, queue, timeout, maxSize, false);
  }

  /** As above; {@code blockOverMaxSize}: a body larger than maxSize is blocked instead of passed unscanned. */
  public Scanner(List<ScanEngine> engines, int threads, int queue, Duration timeout, long maxSize,
      boolean blockOverMaxSize) {
    this.blockOverMaxSize = blockOverMaxSize;
    this.engines = List.copyOf(engines);
    this.timeout = timeout;
    this.maxSize = maxSize;
    this.queue = queue;
    AtomicInteger n = new AtomicInteger();
    // Bounded: with a hung engine, waiting scans must fail fast rather than pile up without limit.
    this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(queue),
        r -> {
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
    return new Scanner(engines, c.threads(), c.queue(), c.timeout(), c.maxSize(),
        c.overMaxSize() == ScanConfig.OverMaxSize.BLOCK);
  }

  /** Bodies larger than this are not scanned (the default bypass). */
  public long maxSize() {
    return maxSize;
  }

  /** Whether a body larger than {@link #maxSize()} is blocked rather than passed unscanned (scan.overMaxSize). */
  public boolean blocksOverMaxSize() {
    return blockOverMaxSize;
  }

  /** Why engines cannot scan now, one line each; empty when all can. Blocking (asks each engine). */
  public List<String> problems() {
    List<String> out = new ArrayList<>();
    for (ScanEngine e : engines) {
      String p = e.problem();
      if (p != null) {
        out.add(p);
      }
    }
    return out;
  }

  public boolean hasEngines() {
    return !engines.isEmpty();
  }

  /** Scans {@code data[0..length)}; completes on a scan thread, or at once with a failure when none can take it. */
  public CompletableFuture<ScanResult> scan(byte[] data, int length) {
    return scan(data, length, null);
  }

  /**
   * As {@link #scan(byte[], int)}; a body of Content-Type {@code multipart/*} (an upload form) is scanned whole and
   * then part by part (at most {@link #MAX_PARTS}), so that each file is seen from its first byte.
   */
  public CompletableFuture<ScanResult> scan(byte[] data, int length, String contentType) {
    String boundary = Multipart.boundary(contentType);
    if (engines.isEmpty()) {
      return CompletableFuture.completedFuture(new ScanResult.Failed("no scan engine is configured", "none"));
    }
    long queued = System.nanoTime();
    CompletableFuture<ScanResult> task;
    try {
      task = CompletableFuture.supplyAsync(() -> {
        if (System.nanoTime() - queued >= timeout.toNanos()) {
          // Its caller gave up on it already (orTimeout below): do not spend an engine on it.
          return new ScanResult.Failed("waited longer than " + timeout.toMillis() + " ms for a scan thread",
              "scanner");
        }
        ScanResult whole = scanWith(data, length);
        if (boundary == null || whole instanceof ScanResult.Infected) {
          return whole;
        }
        ScanResult failure = whole instanceof ScanResult.Failed ? whole : null;
        for (Multipart.Part p : Multipart.parts(data, length, boundary, MAX_PARTS)) {
          ScanResult r = scanWith(java.util.Arrays.copyOfRange(data, p.offset(), p.offset() + p.length()), p.length());
          if (r instanceof ScanResult.Infected) {
            return r;
          }
          if (r instanceof ScanResult.Failed && failure == null) {
            failure = r;
          }
        }
        return failure == null ? ScanResult.CLEAN : failure;
      }, pool);
    } catch (RejectedExecutionException e) {
      // The queue is full, or this scanner was replaced by a commit and closed while the scan was on its way.
      return CompletableFuture.completedFuture(new ScanResult.Failed(pool.isShutdown() ? "the scanner was replaced"
          : queue + " scans are waiting already (scan.queue)",
          "scanner"));
    }
    return task.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(t -> {
      Throwable c = t.getCause() != null ? t.getCause() : t;
      return new ScanResult.Failed(c instanceof TimeoutException ? "scan took longer than " + timeout.toMillis()
          + " ms" : String.valueOf(c), "scanner");
    });
  }

  /** Every engine in turn on one body: the first threat, else the first failure, else clean. */
  private ScanResult scanWith(byte[] data, int length) {
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
