package io.portcullis.daemon.proxy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's open client connections, in all and per client address, and its requests in progress, across its event
 * loops and commits: what proxy.maxConnections, proxy.maxConnectionsPerClient and proxy.maxActiveRequests are checked
 * against.
 */
public final class ClientConnections {
  private final AtomicInteger total = new AtomicInteger();
  private final ConcurrentHashMap<String, Integer> byClient = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.LongAdder refused = new java.util.concurrent.atomic.LongAdder();
  private final AtomicInteger requests = new AtomicInteger();
  private final java.util.concurrent.atomic.LongAdder requestsRefused = new java.util.concurrent.atomic.LongAdder();

  /** Counts a new connection from {@code client}; null (not counted) if it is over a limit, else the limit's name. */
  String open(String client, int maxTotal, int maxPerClient) {
    if (total.incrementAndGet() > maxTotal) {
      total.decrementAndGet();
      refused.increment();
      return "proxy.maxConnections";
    }
    boolean[] over = new boolean[1];
    // compute: atomic per address, so a count reaching 0 is removed without losing a concurrent open.
    byClient.compute(client, (k, n) -> {
      int now = n == null ? 0 : n;
      over[0] = now >= maxPerClient;
      return over[0] ? n : Integer.valueOf(now + 1);
    });
    if (over[0]) {
      total.decrementAndGet();
      refused.increment();
      return "proxy.maxConnectionsPerClient";
    }
    return null;
  }

  /** Uncounts a connection {@link #open} let in. */
  void close(String client) {
    total.decrementAndGet();
    byClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : Integer.valueOf(n - 1));
  }

  /** Open connections now. */
  public int open() {
    return total.get();
  }

  /** Connections refused for a limit since the start. */
  public long refused() {
    return refused.sum();
  }

  /** Counts a request in progress; false (not counted) when {@code max} are in progress already. */
  public boolean beginRequest(int max) {
    if (requests.incrementAndGet() > max) {
      requests.decrementAndGet();
      requestsRefused.increment();
      return false;
    }
    return true;
  }

  /** Uncounts a request {@link #beginRequest} let in. */
  public void endRequest() {
    requests.decrementAndGet();
  }

  /** Requests in progress now. */
  public int requests() {
    return requests.get();
  }

  /** Requests refused for proxy.maxActiveRequests since the start. */
  public long requestsRefused() {
    return requestsRefused.sum();
  }
}
