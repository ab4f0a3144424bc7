package io.portcullis.daemon.events;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.portcullis.daemon.config.EventsConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's traffic events. Traffic threads {@link #publish} (counts are taken there, so metrics and rule hits never
 * miss one; the event itself is only queued: no lock, no wake-up, no I/O). One thread takes the queue every 50 ms to
 * the journal, the recent ring ({@code show events follow}), the syslog targets, and the {@code portcullis.events}
 * logger when enabled. Past events.maxQueued of waiting events (their estimated heap) new ones are dropped and counted:
 * a slow disk never slows traffic, nor grows the heap.
 */
public final class Events implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Events.class);
  private static final Logger EVENT_LOG = LoggerFactory.getLogger("portcullis.events");
  /** events.maxQueued until a config says otherwise. */
  static final long MAX_QUEUED = 32L << 20;
  /** Histogram buckets for latencies: Prometheus computes quantiles across nodes from these (not from summaries). */
  public static final java.time.Duration[] LATENCY_BUCKETS = buckets(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30);

  private final Path dir;
  private final MeterRegistry registry;
  private final ConcurrentLinkedQueue<TrafficEvent> queue = new ConcurrentLinkedQueue<>();
  private final AtomicLong waiting = new AtomicLong(); // the weight of the events queued and not yet written
  private final AtomicLong dropped = new AtomicLong();
  private final Recent recent = new Recent(10_000);
  private final Map<String, LongAdder> ruleHits = new ConcurrentHashMap<>();
  private final Map<String, Counter> decisions = new ConcurrentHashMap<>();
  private final Map<String, SyslogSink> sinks = new ConcurrentHashMap<>();
  private final Map<String, long[]> retiredSinkCounts = new ConcurrentHashMap<>(); // sent, dropped of replaced sinks
  private final Thread writer;
  private volatile Journal journal;
  private volatile EventsConfig config;
  private volatile boolean closed;
  private String journalError;
  private String node = "";

  /** Events kept in {@code dir} (the journal), counted in {@code registry}. */
  public Events(Path dir, MeterRegistry registry) {
    this.dir = dir;
    this.registry = registry;
    FunctionCounter.builder("portcullis.events.dropped", dropped, AtomicLong::get)
        .description("traffic events dropped because the events thread could not keep up").register(registry);
    Gauge.builder("portcullis.events.journal.size", this, e -> {
      Journal j = e.journal;
      return j == null ? 0 : j.size();
    }).baseUnit("bytes").description("bytes of the events journal on disk").register(registry);
    this.proxyIcap = Timer.builder("portcullis.proxy.icap.duration").serviceLevelObjectives(LATENCY_BUCKETS)
        .description("time a proxied request waited for ICAP answers (REQMOD and RESPMOD)").register(registry);
    this.proxyUpstream = Timer.builder("portcullis.proxy.upstream.duration").serviceLevelObjectives(LATENCY_BUCKETS)
        .description("time from asking the origin to its answer's head (connect included)").register(registry);
    this.proxyTotal = Timer.builder("portcullis.proxy.request.duration").serviceLevelObjectives(LATENCY_BUCKETS)
        .description("time from a request's head to the end of its answer").register(registry);
    this.writer = new Thread(this::run, "portcullis-events");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * Puts {@code c} into effect: journal on or off and its limits, syslog targets added, changed (replaced) or
   * removed. Relative CA paths resolve against {@code baseDir}; {@code node} names this node in syslog headers.
   */
  public synchronized void configure(EventsConfig c, Path baseDir, String node) {
    this.config = c;
    try {
      synchronized (writeLock) { // not while the events thread writes to it
        if (c.journal().enabled() && journal == null) {
          journal = new Journal(dir, c.journal());
        } else if (c.journal().enabled()) {
          journal.limits(c.journal());
        } else if (journal != null) {
          Journal j = journal;
          journal = null;
          j.close();
        }
      }
      journalError = null;
    } catch (IOException e) {
      journalError = e.toString();
      LOG.error("events journal in {} cannot be opened: {}", dir, e.toString());
    }
    Map<String, EventsConfig.SyslogTarget> wanted = new LinkedHashMap<>();
    c.syslog().forEach(t -> wanted.put(t.name(), t));
    for (var it = sinks.entrySet().iterator(); it.hasNext();) {
      var e = it.next();
      EventsConfig.SyslogTarget t = wanted.get(e.getKey());
      if (t == null || !t.equals(e.getValue().target()) || !node.equals(this.node)) {
        it.remove();
        retire(e.getValue());
      }
    }
    this.node = node;
    for (EventsConfig.SyslogTarget t : wanted.values()) {
      sinks.computeIfAbsent(t.name(), n -> {
        registerSinkMeters(n);
        return new SyslogSink(t, baseDir, node, io.portcullis.daemon.runtime.Version.get());
      });
    }
  }

  private void retire(SyslogSink s) {
    s.close();
    retiredSinkCounts.merge(s.target().name(), new long[] {s.sent(), s.dropped(), s.failed()},
        (a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]});
  }

  private final java.util.Set<String> sinkMeters = ConcurrentHashMap.newKeySet();

  private void registerSinkMeters(String name) {
    if (!sinkMeters.add(name)) {
      return;
    }
    String[] what = {"sent", "dropped", "failed"};
    String[] doc = {"events sent to the syslog target", "events dropped because the syslog target's queue was full",
        "connections or sends to the syslog target that failed"};
    for (int i = 0; i < 3; i++) {
      int k = i;
      FunctionCounter.builder("portcullis.syslog." + what[i], this, e -> e.sinkCount(name, k))
          .description(doc[i]).tag("target", name).register(registry);
    }
    Gauge.builder("portcullis.syslog.connected", this, e -> {
      SyslogSink s = e.sinks.get(name);
      return s != null && s.connected() ? 1 : 0;
    }).description("1 while the syslog target is connected (udp: always)").tag("target", name).register(registry);
  }

  private double sinkCount(String name, int which) {
    long[] old = retiredSinkCounts.getOrDefault(name, new long[3]);
    SyslogSink s = sinks.get(name);
    long now = s == null ? 0 : which == 0 ? s.sent() : which == 1 ? s.dropped() : s.failed();
    return old[which] + now;
  }

  private static java.time.Duration[] buckets(double... seconds) {
    java.time.Duration[] d = new java.time.Duration[seconds.length];
    for (int i = 0; i < d.length; i++) {
      d[i] = java.time.Duration.ofNanos((long) (seconds[i] * 1e9));
    }
    return d;
  }

  private final Timer proxyIcap;
  private final Timer proxyUpstream;
  private final Timer proxyTotal;

  /** Counts one decision (and, for the proxy's, its latencies) and queues its event. Never blocks. */
  public void publish(TrafficEvent e) {
    if ("proxy".equals(e.source())) {
      if (e.icapMicros() > 0) {
        proxyIcap.record(e.icapMicros(), java.util.concurrent.TimeUnit.MICROSECONDS);
      }
      if (e.upstreamMicros() >= 0) {
        proxyUpstream.record(e.upstreamMicros(), java.util.concurrent.TimeUnit.MICROSECONDS);
      }
      proxyTotal.record(Math.max(0, e.durationMicros()), java.util.concurrent.TimeUnit.MICROSECONDS);
    }
    String type = e.ruleType() == null ? "none" : e.ruleType();
    // get before computeIfAbsent: the latter may lock a bin shared by every event loop, even when present.
    String key = e.source() + '|' + e.action() + '|' + type;
    Counter c = decisions.get(key);
    if (c == null) {
      c = decisions.computeIfAbsent(key, k -> Counter.builder("portcullis.decisions")
          .description("traffic decisions by where they were made (proxy, icap), action and rule type")
          .tag("source", e.source()).tag("action", e.action()).tag("rule_type", type).register(registry));
    }
    c.increment();
    if (e.rule() != null && e.ruleType() != null) {
      String rk = e.ruleType() + '|' + e.rule();
      LongAdder hits = ruleHits.get(rk);
      if (hits == null) {
        hits = ruleHits.computeIfAbsent(rk, k -> {
          LongAdder a = new LongAdder();
          FunctionCounter.builder("portcullis.rule.hits", a, LongAdder::sum)
              .description("decisions made by each rule").tag("type", e.ruleType()).tag("rule", e.rule())
              .register(registry);
          return a;
        });
      }
      hits.increment();
    }
    enqueue(e);
  }

  /**
   * Queues an event another node decided (a cluster node's, on the control node) for the journal, syslog and
   * {@code show events}, without counting it here: that node's own counters come with its metrics.
   */
  public void importEvent(TrafficEvent e) {
    enqueue(e);
  }

  private void enqueue(TrafficEvent e) {
    EventsConfig c = config;
    int w = e.weight();
    if (waiting.addAndGet(w) > (c == null ? MAX_QUEUED : c.maxQueued())) {
      waiting.addAndGet(-w);
      dropped.incrementAndGet();
      return;
    }
    queued.incrementAndGet();
    queue.add(e);
  }

  /** How many decisions the rule {@code name} of type {@code type} (bypass, access, protection) has made. */
  public long hits(String type, String name) {
    LongAdder a = ruleHits.get(type + '|' + name);
    return a == null ? 0 : a.sum();
  }

  /** The rules of type {@code type} that made decisions, with their counts, by name. */
  public Map<String, Long> hits(String type) {
    Map<String, Long> out = new java.util.TreeMap<>();
    ruleHits.forEach((k, v) -> {
      if (k.startsWith(type + '|')) {
        out.put(k.substring(type.length() + 1), v.sum());
      }
    });
    return out;
  }

  /** Events dropped before the events thread took them. */
  public long dropped() {
    return dropped.get();
  }

  /** The syslog targets now, by name. */
  public Map<String, SyslogSink> sinks() {
    return Map.copyOf(sinks);
  }

  /** Why the journal is not kept although enabled, or null. */
  public synchronized String journalError() {
    return journalError;
  }

  /**
   * The last {@code limit} events {@code filter} accepts, oldest first: from the journal when it is kept, else from
   * the recent ring. Blocking (reads files): not on an event loop.
   */
  public List<TrafficEvent> query(EventFilter filter, int limit) throws IOException {
    Journal j = journal;
    if (j == null) {
      return recent.after(-1, limit, filter).events();
    }
    flushed(); // what was published before the query is in the journal
    return j.query(filter, filter.hint(), filter.since(), limit);
  }

  /** Events after number {@code after} ({@code -1}: the latest {@code limit}) that {@code filter} accepts. */
  public Page follow(long after, int limit, EventFilter filter) {
    return recent.after(after, limit, filter);
  }

  /** Waits (up to a second) until the events thread has written what was queued before this call. */
  public void flushed() {
    long target = queued.get();
    long deadline = System.nanoTime() + 1_000_000_000L;
    while (written.get() < target && System.nanoTime() < deadline && !closed) {
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private final AtomicLong queued = new AtomicLong(); // events queued so far
  private final AtomicLong written = new AtomicLong(); // of those, written out (the queue is FIFO)

  final Object writeLock = new Object(); // held while events are written (a test holds it to stall the writer)

  @Override
  public synchronized void close() {
    closed = true; // not an interrupt: one inside FileChannel.write would close the journal and lose the batch
    try {
      writer.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    drain(); // what was still queued
    sinks.values().forEach(SyslogSink::close);
    sinks.clear();
    if (journal != null) {
      journal.close();
    }
  }

  private void run() {
    long reportedDrops = 0;
    while (!closed) {
      drain();
      Journal j = journal;
      if (j != null) {
        synchronized (writeLock) {
          try {
            j.tick();
          } catch (IOException | RuntimeException e) {
            LOG.warn("events journal: applying its limits: {}", e.toString());
          }
        }
      }
      long d = dropped.get();
      if (d != reportedDrops) {
        LOG.warn("{} traffic events dropped: the events thread could not keep up", d - reportedDrops);
        reportedDrops = d;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void drain() {
    synchronized (writeLock) {
      List<TrafficEvent> batch = new ArrayList<>();
      TrafficEvent e;
      while ((e = queue.poll()) != null) {
        batch.add(e);
        if (batch.size() == 4096) {
          write(batch);
          batch = new ArrayList<>();
        }
      }
      if (!batch.isEmpty()) {
        write(batch);
      }
    }
  }

  private void write(List<TrafficEvent> batch) {
    Journal j = journal;
    boolean log = EVENT_LOG.isInfoEnabled();
    List<String> lines = null;
    if (log) {
      lines = new ArrayList<>(batch.size());
      for (TrafficEvent e : batch) {
        lines.add(e.jsonLine()); // once for the journal and the logger
      }
    }
    if (j != null) {
      try {
        if (lines != null) {
          j.appendLines(lines);
        } else {
          j.append(batch); // the usual case: the lines built in the journal's batch, no String per event
        }
      } catch (IOException | RuntimeException x) {
        LOG.error("events journal: {} events not written: {}", batch.size(), x.toString());
      }
    }
    for (TrafficEvent e : batch) {
      recent.add(e);
      for (SyslogSink s : sinks.values()) {
        s.offer(e);
      }
    }
    if (log) {
      EVENT_LOG.info(String.join("\n", lines));
    }
    long w = 0;
    for (TrafficEvent e : batch) {
      w += e.weight();
    }
    waiting.addAndGet(-w);
    written.addAndGet(batch.size()); // only now: a query after flushed() finds them written
  }

  /** Some events, the number of the last one, and how many the ring lost before they were read. */
  public record Page(List<TrafficEvent> events, long last, long missed) {
  }

  /** A ring of the latest events, each numbered (1, 2, ...). */
  static final class Recent {
    private final TrafficEvent[] ring;
    private long next = 1;

    Recent(int size) {
      this.ring = new TrafficEvent[size];
    }

    synchronized void add(TrafficEvent e) {
      ring[(int) (next % ring.length)] = e;
      next++;
    }

    /** Accepted events numbered after {@code after} (-1: the latest {@code limit}), oldest first. */
    synchronized Page after(long after, int limit, EventFilter filter) {
      long oldest = Math.max(1, next - ring.length);
      List<TrafficEvent> out = new ArrayList<>();
      if (after < 0) {
        for (long n = next - 1; n >= oldest && out.size() < limit; n--) {
          TrafficEvent e = ring[(int) (n % ring.length)];
          if (filter.test(e)) {
            out.add(e);
          }
        }
        java.util.Collections.reverse(out);
        return new Page(out, next - 1, 0);
      }
      long n = Math.max(oldest, after + 1);
      for (; n < next && out.size() < limit; n++) {
        TrafficEvent e = ring[(int) (n % ring.length)];
        if (filter.test(e)) {
          out.add(e);
        }
      }
      return new Page(out, n - 1, oldest > after + 1 ? oldest - after - 1 : 0);
    }
  }

  /** The events config in effect (null before the first configure). */
  public EventsConfig config() {
    return config;
  }
}
