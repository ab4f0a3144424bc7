package io.portcullis.testsupport;

import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a test class started (peers, nodes, servers), stopped for it in the reverse order: what {@code @BeforeAll}
 * started after all the class's tests, what a test or its {@code @BeforeEach} started after that test. Register it
 * with {@code @RegisterExtension static final Cleanup cleanup = new Cleanup();} (one line, like {@code @TempDir static
 * Path dir;} beside it: the same two lines head every such test) instead of writing {@code @AfterAll} or
 * {@code @AfterEach} methods that null-check and stop each thing.
 */
public final class Cleanup implements BeforeEachCallback, AfterEachCallback, AfterAllCallback {
  /** How to stop one thing; may throw, as {@code close()} does. */
  @FunctionalInterface
  public interface Stop<T> {
    void stop(T thing) throws Exception;
  }

  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  /** How many things the class level had when the running test began (-1 between tests). */
  private int beforeTest = -1;

  /** {@code thing}, to be stopped with {@code stop}; returns it. */
  public <T> T add(T thing, Stop<? super T> stop) {
    atEnd(() -> stop.stop(thing));
    return thing;
  }

  /** {@code c}, to be closed; returns it. */
  public <T extends AutoCloseable> T add(T c) {
    return add(c, AutoCloseable::close);
  }

  /** A peer process, to be stopped as {@link Peers#stop} does (SIGTERM, then SIGKILL after 10 s); returns it. */
  public Process add(Process p) {
    return add(p, Peers::stop);
  }

  /** {@code action}, to be run when the things started before it are stopped (for what a test replaces as it runs). */
  public synchronized void atEnd(AutoCloseable action) {
    started.push(action);
  }

  @Override
  public synchronized void beforeEach(ExtensionContext context) {
    beforeTest = started.size();
  }

  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    int keep;
    synchronized (this) {
      keep = Math.max(beforeTest, 0);
      beforeTest = -1;
    }
    stopDownTo(keep);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    stopDownTo(0);
  }

  /** Stops the newest things until {@code keep} are left; every one is tried, the first failure is thrown. */
  private void stopDownTo(int keep) throws Exception {
    Exception first = null;
    while (true) {
      AutoCloseable next;
      synchronized (this) {
        if (started.size() <= keep) {
          break;
        }
        next = started.pop();
      }
      try {
        next.close();
      } catch (Exception e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
