package io.portcullis.daemon.scan;

import io.portcullis.daemon.config.HostPort;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * ClamAV's clamd over TCP or a unix socket. Connections are kept in a pool as {@code IDSESSION} sessions, each
 * carrying one {@code INSTREAM} scan after another (the body in length-prefixed chunks; clamd answers
 * {@code N: stream: OK} or {@code N: stream: NAME FOUND}). At most {@code maxConnections} scans at once; a scan that
 * outlives {@code timeout} has its connection closed under it, so no thread waits on a hung clamd for ever.
 */
public final class ClamdEngine implements ScanEngine, AutoCloseable {
  private static final int CHUNK = 64 * 1024;
  private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "portcullis-clamd-watchdog");
    t.setDaemon(true);
    return t;
  });
  private final HostPort address;
  private final Path socket;
  private final Semaphore slots;
  private final Duration connectTimeout;
  private final Duration timeout;
  private final ConcurrentLinkedDeque<Session> idle = new ConcurrentLinkedDeque<>();
  private final java.util.concurrent.atomic.AtomicInteger opened = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean closed;

  /** One IDSESSION connection; {@code next} is the id clamd will give the next command's reply. */
  private static final class Session {
    final SocketChannel channel;
    int next = 1;
    volatile boolean killed; // the watchdog closed it: the scan ran out of time

    Session(SocketChannel channel) {
      this.channel = channel;
    }
  }

  public ClamdEngine(HostPort address, Path socket, int maxConnections, Duration connectTimeout, Duration timeout) {
    this.address = address;
    this.socket = socket;
    this.slots = new Semaphore(maxConnections, true);
    this.connectTimeout = connectTimeout;
    this.timeout = timeout;
  }

  @Override
  public String name() {
    return "clamd";
  }

  @Override
  public ScanResult scan(byte[] data, int length) {
    // One deadline for the whole scan: the wait for a slot, the connect, the I/O and any retry.
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean got;
    try {
      got = slots.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new ScanResult.Failed("interrupted", name());
    }
    if (!got) {
      return new ScanResult.Failed("every clamd connection stayed busy for " + timeout.toMillis() + " ms", name());
    }
    try {
      if (System.nanoTime() >= deadline) {
        return timedOut(); // the wait for a slot used the whole time: do not start on clamd
      }
      Session pooled = idle.pollFirst();
      if (pooled != null) {
        try {
          return scanOn(pooled, data, length, deadline);
        } catch (IOException e) {
          close(pooled);
          if (pooled.killed || System.nanoTime() >= deadline) {
            return timedOut();
          }
          // clamd dropped an idle session (IdleTimeout): one retry on a fresh one, within the same deadline
        }
      }
      Session fresh = open();
      try {
        return scanOn(fresh, data, length, deadline);
      } catch (IOException e) {
        close(fresh);
        if (fresh.killed) {
          return timedOut();
        }
        throw e;
      }
    } catch (IOException e) {
      return new ScanResult.Failed("clamd at " + where() + ": " + e.getMessage(), name());
    } finally {
      slots.release();
    }
  }

  private ScanResult timedOut() {
    return new ScanResult.Failed("clamd at " + where() + " took longer than " + timeout.toMillis() + " ms", name());
  }

  private ScanResult scanOn(Session s, byte[] data, int length, long deadline) throws IOException {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      s.killed = true;
      throw new IOException("deadline passed");
    }
    ScheduledFuture<?> guard = WATCHDOG.schedule(() -> {
      s.killed = true;
      close(s);
    }, left, TimeUnit.NANOSECONDS);
    try {
      SocketChannel ch = s.channel;
      writeFully(ch, ByteBuffer.wrap("zINSTREAM\0".getBytes(StandardCharsets.US_ASCII)));
      for (int off = 0; off < length; off += CHUNK) {
        int n = Math.min(CHUNK, length - off);
        writeFully(ch, ByteBuffer.allocate(4).putInt(n).flip());
        writeFully(ch, ByteBuffer.wrap(data, off, n));
      }
      writeFully(ch, ByteBuffer.allocate(4).putInt(0).flip());
      String reply = readReply(ch);
      int id = s.next++;
      String prefix = id + ": ";
      if (!reply.startsWith(prefix)) {
        close(s);
        return new ScanResult.Failed("clamd answered \"" + reply + "\"", name());
      }
      String r = reply.substring(prefix.length());
      ScanResult result;
      if (r.endsWith(" FOUND")) {
        result = new ScanResult.Infected(r.substring(r.indexOf(':') + 1, r.length() - 6).strip(), name());
      } else if (r.endsWith(": OK")) {
        result = ScanResult.CLEAN;
      } else {
        close(s); // e.g. "INSTREAM size limit exceeded. ERROR": clamd ends the session
        return new ScanResult.Failed("clamd answered \"" + r + "\"", name());
      }
      if (guard.cancel(false) && s.channel.isOpen()) {
        idle.addFirst(s);
        if (closed) {
          // close() ran while this scan was in flight (a commit replaced the engine): do not keep the session.
          Session again;
          while ((again = idle.pollFirst()) != null) {
            close(again);
          }
        }
      }
      return result;
    } finally {
      guard.cancel(false);
    }
  }

  private Session open() throws IOException {
    SocketAddress target = address != null
        ? new InetSocketAddress(address.host(), address.port()) : UnixDomainSocketAddress.of(socket);
    SocketChannel ch = address != null ? SocketChannel.open() : SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      if (address != null) {
        ch.socket().connect(target, (int) connectTimeout.toMillis());
      } else {
        ch.connect(target);
      }
      writeFully(ch, ByteBuffer.wrap("zIDSESSION\0".getBytes(StandardCharsets.US_ASCII)));
      opened.incrementAndGet();
      return new Session(ch);
    } catch (IOException e) {
      ch.close();
      throw e;
    }
  }

  private static void close(Session s) {
    try {
      s.channel.close();
    } catch (IOException e) {
      // already gone
    }
  }

  private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static String readReply(SocketChannel ch) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(1);
    while (out.size() < 4096) {
      b.clear();
      if (ch.read(b) < 0) {
        throw new IOException("clamd closed the connection");
      }
      byte x = b.get(0);
      if (x == 0) {
        return out.toString(StandardCharsets.US_ASCII).strip();
      }
      out.write(x);
    }
    throw new IOException("clamd's answer is too long");
  }

  /** Sessions opened so far (a pool that works opens few). */
  public int sessionsOpened() {
    return opened.get();
  }

  /** PING on a connection of its own (not from the pool: a health check must not wait for a busy scan slot). */
  @Override
  public String problem() {
    SocketAddress target = address != null
        ? new InetSocketAddress(address.host(), address.port()) : UnixDomainSocketAddress.of(socket);
    try (SocketChannel ch = address != null ? SocketChannel.open() : SocketChannel.open(StandardProtocolFamily.UNIX);
        java.nio.channels.Selector selector = java.nio.channels.Selector.open()) {
      if (address != null) {
        ch.socket().connect(target, (int) connectTimeout.toMillis());
      } else {
        ch.connect(target);
      }
      writeFully(ch, ByteBuffer.wrap("zPING\0".getBytes(StandardCharsets.US_ASCII)));
      // The answer within connectTimeout, on TCP and unix sockets alike: a hung clamd must not hold the caller.
      ch.configureBlocking(false);
      ch.register(selector, java.nio.channels.SelectionKey.OP_READ);
      ByteBuffer reply = ByteBuffer.allocate(16);
      long deadline = System.nanoTime() + connectTimeout.toNanos();
      while (reply.hasRemaining()) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0 || selector.select(left) == 0 && System.nanoTime() >= deadline) {
          return "clamd at " + where() + " did not answer PING within " + connectTimeout.toMillis() + " ms";
        }
        selector.selectedKeys().clear();
        if (ch.read(reply) < 0 || reply.position() > 0 && reply.get(reply.position() - 1) == 0) {
          break;
        }
      }
      String got = new String(reply.array(), 0, reply.position(), StandardCharsets.US_ASCII).replace("\0", "")
          .strip();
      return got.equals("PONG") ? null : "clamd at " + where() + " answered PING with \"" + got + "\"";
    } catch (IOException e) {
      return "clamd at " + where() + " is unreachable: " + e.getMessage();
    }
  }

  private String where() {
    return address != null ? address.toString() : socket.toString();
  }

  /** Ends the pooled sessions. */
  @Override
  public void close() {
    closed = true;
    Session s;
    while ((s = idle.pollFirst()) != null) {
      try {
        writeFully(s.channel, ByteBuffer.wrap("zEND\0".getBytes(StandardCharsets.US_ASCII)));
      } catch (IOException e) {
        // closing anyway
      }
      close(s);
    }
  }
}
