package io.portcullis.daemon.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Many cases against one server at once, as the hostile suites send them. */
final class Parallel {
  private Parallel() {
  }

  /** Runs every one of {@code work} on {@code threads} threads; their results in the order given (a failure is thrown). */
  static <T> List<T> all(int threads, List<Callable<T>> work) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<T> results = new ArrayList<>();
      for (Future<T> f : pool.invokeAll(work)) {
        results.add(f.get());
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
