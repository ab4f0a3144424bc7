package io.portcullis.daemon.events;

import io.portcullis.daemon.config.EventsConfig;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One syslog target. {@link #offer} only puts the event in a bounded queue (full: dropped and counted); the sink's
 * own daemon thread formats and sends with blocking sockets, so a slow or dead SIEM never reaches traffic or the event
 * loop. Messages are RFC 5424 ({@code <PRI>1 TIMESTAMP HOSTNAME portcullis PROCID traffic - MSG}, MSG a CEF line or
 * the event's JSON) over UDP (RFC 5426, one datagram each, at most 8 KiB), TCP (RFC 6587 octet counting) or TLS
 * (RFC 5425). A broken connection is counted, remembered in {@link #lastError} and retried with backoff (0.5 s
 * doubling to 30 s); the events being written when it broke are sent once more on the next connection.
 */
public final class SyslogSink {
  private static final Logger LOG = LoggerFactory.getLogger(SyslogSink.class);
  static final int MAX_DATAGRAM = 8192;
  private static final int MAX_BATCH = 256;
  private static final long FIRST_BACKOFF_MS = 500;
  private static final long MAX_BACKOFF_MS = 30_000;
  private static final int CONNECT_TIMEOUT_MS = 10_000;
  private static final long IDLE_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50); // not while streaming
  private static final DateTimeFormatter TIMESTAMP =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final EventsConfig.SyslogTarget target;
  private final Path baseDir;
  private final String hostname;
  private final String version;
  private final String procId = Long.toString(ProcessHandle.current().pid());
  private final ArrayBlockingQueue<TrafficEvent> queue;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final StringBuilder sb = new StringBuilder(1024); // the sink thread's only
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean connected;
  private volatile String lastError;
  private volatile Closeable socket; // for close() to cut a blocked connect or write short

  // The connection, used by the sink thread only.
  private DatagramSocket udp;
  private Socket stream;
  private Socket plain; // under the TLS layer: where an idle check reads without touching TLS state
  private OutputStream out;
  private long lastWrite;

  /**
   * A sink sending to {@code target}; a relative CA path resolves against {@code baseDir}; {@code hostname} goes in
   * the syslog header, {@code version} in the CEF header. Its thread starts at once.
   */
  public SyslogSink(EventsConfig.SyslogTarget target, Path baseDir, String hostname, String version) {
    this.target = target;
    this.baseDir = baseDir;
    this.hostname = headerName(hostname);
    this.version = version == null ? "" : version;
    this.queue = new ArrayBlockingQueue<>(target.queue());
    this.thread = new Thread(this::run, "portcullis-syslog-" + target.name());
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues {@code e} without ever blocking; false (and counted in {@link #dropped}) when the queue is full. */
  public boolean offer(TrafficEvent e) {
    if (!closed && queue.offer(e)) {
      return true;
    }
    dropped.incrementAndGet();
    return false;
  }

  /** Events handed to the server's socket. */
  public long sent() {
    return sent.get();
  }

  /** Events not sent: the queue was full, or the connection broke again while they were retried. */
  public long dropped() {
    return dropped.get();
  }

  /** Connects and sends that failed. */
  public long failed() {
    return failed.get();
  }

  /** Why the last connect or send failed; null while the target works. */
  public String lastError() {
    return lastError;
  }

  /** True while a connection to the server is open (for UDP: a socket is ready). */
  public boolean connected() {
    return connected;
  }

  /** The target this sink sends to. */
  public EventsConfig.SyslogTarget target() {
    return target;
  }

  /** Stops the thread (within about a second) and closes the connection; queued events are discarded. Idempotent. */
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    thread.interrupt();
    closeQuietly(socket);
    try {
      thread.join(1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    List<TrafficEvent> batch = new ArrayList<>(MAX_BATCH); // taken from the queue, not yet known to be sent
    boolean retrying = false; // writing the batch failed once already
    long backoff = FIRST_BACKOFF_MS;
    try {
      while (!closed) {
        boolean sending = false;
        try {
          if (!connected) {
            connect();
          }
          if (batch.isEmpty()) {
            TrafficEvent first = queue.poll(1, TimeUnit.SECONDS); // wake now and then to see close()
            if (first == null) {
              continue;
            }
            batch.add(first);
            queue.drainTo(batch, MAX_BATCH - 1);
            retrying = false;
            if (!stillOpen()) {
              continue; // the server closed the idle connection: reconnect rather than write into the void
            }
          }
          sending = true;
          send(batch);
          backoff = FIRST_BACKOFF_MS;
          lastError = null;
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
          if (closed) {
            break;
          }
          boolean wasConnected = connected;
          disconnect();
          String why = describe(e);
          if (e instanceof RuntimeException) {
            // A bug, perhaps with one event: lose the batch rather than the sink.
            LOG.error("syslog target {}: {}; {} events lost", target.name(), why, batch.size(), e);
            dropped.addAndGet(batch.size());
            batch.clear();
          } else if (wasConnected || !why.equals(lastError)) {
            LOG.warn("syslog target {} ({}): {}; retrying in {} ms", target.name(), target.transport(), why, backoff);
          } else {
            LOG.debug("syslog target {}: {}", target.name(), why);
          }
          lastError = why;
          failed.incrementAndGet(); // after lastError: who sees the count sees the reason
          if (sending && !batch.isEmpty()) {
            if (retrying) {
              dropped.addAndGet(batch.size());
              batch.clear();
            } else {
              retrying = true;
            }
          }
          Thread.sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    } catch (InterruptedException e) {
      // close(): fall through and let go of the connection
    } finally {
      disconnect();
    }
  }

  private void connect() throws IOException, GeneralSecurityException {
    InetSocketAddress address = new InetSocketAddress(target.address().host(), target.address().port());
    if (address.isUnresolved()) {
      throw new IOException("cannot resolve " + target.address().host());
    }
    if (target.transport() == EventsConfig.Transport.UDP) {
      DatagramSocket s = new DatagramSocket();
      use(s);
      s.connect(address); // connected: the kernel reports an unreachable port on a later send
      udp = s;
    } else {
      Socket s = new Socket();
      use(s);
      s.setKeepAlive(true);
      s.connect(address, CONNECT_TIMEOUT_MS);
      plain = s;
      if (target.transport() == EventsConfig.Transport.TLS) {
        SSLSocket tls = (SSLSocket) tlsFactory().createSocket(s, target.address().host(), address.getPort(), true);
        use(tls);
        if (target.verifyHost()) {
          SSLParameters p = tls.getSSLParameters();
          p.setEndpointIdentificationAlgorithm("HTTPS");
          tls.setSSLParameters(p);
        }
        s.setSoTimeout(CONNECT_TIMEOUT_MS);
        tls.startHandshake();
        s.setSoTimeout(0);
        stream = tls;
      } else {
        stream = s;
      }
      out = new BufferedOutputStream(stream.getOutputStream(), 64 * 1024);
      lastWrite = System.nanoTime();
    }
    if (closed) {
      throw new IOException("closed");
    }
    connected = true;
    lastError = null;
    LOG.info("syslog target {} connected to {} over {}", target.name(), target.address(), target.transport());
  }

  /** Makes {@code c} what close() closes; fails when close() has come first. */
  private void use(Closeable c) throws IOException {
    socket = c;
    if (closed) {
      closeQuietly(c);
      throw new IOException("closed");
    }
  }

  private SSLSocketFactory tlsFactory() throws IOException, GeneralSecurityException {
    if (target.ca().isEmpty()) {
      return (SSLSocketFactory) SSLSocketFactory.getDefault();
    }
    // Read at every connect: a renewed CA file takes effect without a config change.
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {
        io.portcullis.daemon.tls.PemTrust.of(baseDir.resolve(target.ca()))}, null);
    return ctx.getSocketFactory();
  }

  /**
   * False when the server has closed a connection idle for a while (rsyslog restarted, an idle timeout): a write
   * would still succeed into the kernel's buffer and its events be lost. Syslog servers never send, so reading with a
   * tiny timeout either times out (open) or sees the end (closed). TLS is checked on the plain socket beneath.
   */
  private boolean stillOpen() throws IOException {
    if (stream == null || System.nanoTime() - lastWrite < IDLE_CHECK_NANOS) {
      return true;
    }
    plain.setSoTimeout(1);
    try {
      InputStream in = plain.getInputStream();
      byte[] junk = new byte[512]; // e.g. TLS 1.3 session tickets nobody reads: their loss harms nothing
      for (int n = 0; n < 64; n++) {
        if (in.read(junk) < 0) {
          LOG.info("syslog target {}: the server closed the connection; reconnecting", target.name());
          disconnect();
          return false;
        }
      }
    } catch (SocketTimeoutException e) {
      // nothing to read: open
    } catch (IOException e) {
      LOG.info("syslog target {}: the connection broke ({}); reconnecting", target.name(), e.getMessage());
      disconnect();
      return false;
    } finally {
      if (stream != null) {
        plain.setSoTimeout(0);
      }
    }
    return true;
  }

  /** Sends the batch; what was sent is counted and leaves it (all of it unless this throws). */
  private void send(List<TrafficEvent> batch) throws IOException {
    if (udp != null) {
      int done = 0;
      try {
        for (TrafficEvent e : batch) {
          udp.send(datagram(e));
          done++;
        }
      } finally {
        sent.addAndGet(done);
        batch.subList(0, done).clear();
      }
      return;
    }
    for (TrafficEvent e : batch) {
      message(e);
      byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
      out.write(Integer.toString(bytes.length).getBytes(StandardCharsets.US_ASCII));
      out.write(' ');
      out.write(bytes);
    }
    out.flush(); // once a batch: one write (one TLS record or so) for many events
    lastWrite = System.nanoTime();
    sent.addAndGet(batch.size());
    batch.clear();
  }

  private DatagramPacket datagram(TrafficEvent e) {
    int headerLength = message(e);
    byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
    int length = bytes.length;
    if (length > MAX_DATAGRAM) {
      length = MAX_DATAGRAM;
      while (length > headerLength && (bytes[length] & 0xC0) == 0x80) {
        length--; // cut before a character, not inside its UTF-8 bytes
      }
    }
    return new DatagramPacket(bytes, length);
  }

  /** Leaves the RFC 5424 message for {@code e} in {@link #sb}; returns the length of its (ASCII) header. */
  private int message(TrafficEvent e) {
    sb.setLength(0);
    sb.append('<').append(target.facility() * 8 + severity(e.action())).append(">1 ");
    TIMESTAMP.formatTo(e.time(), sb);
    sb.append(' ').append(hostname).append(" portcullis ").append(procId).append(" traffic - ");
    int header = sb.length();
    if (target.format() == EventsConfig.Format.JSON) {
      sb.append(e.toJson().encode());
    } else {
      Cef.appendTo(sb, e, version);
    }
    return header;
  }

  /** Syslog severity: error 3, block (warning) 4, redirect (notice) 5, anything else (informational) 6. */
  static int severity(String action) {
    if (action == null) {
      return 6;
    }
    return switch (action) {
      case "error" -> 3;
      case "block" -> 4;
      case "redirect" -> 5;
      default -> 6;
    };
  }

  /** RFC 5424 HOSTNAME: 1 to 255 printable US-ASCII characters, or "-". */
  static String headerName(String name) {
    if (name == null || name.isEmpty()) {
      return "-";
    }
    StringBuilder b = new StringBuilder(Math.min(name.length(), 255));
    for (int i = 0; i < name.length() && b.length() < 255; i++) {
      char c = name.charAt(i);
      b.append(c > 32 && c < 127 ? c : '_');
    }
    return b.toString();
  }

  private void disconnect() {
    boolean was = connected;
    connected = false;
    closeQuietly(socket);
    socket = null;
    udp = null;
    stream = null;
    plain = null;
    out = null;
    if (was && closed) {
      LOG.info("syslog target {} closed", target.name());
    }
  }

  private String describe(Exception e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof CertificateException) {
        return "TLS with " + target.address() + ": the server's certificate is not accepted: " + rootMessage(e);
      }
    }
    if (e instanceof SSLException) {
      return "TLS with " + target.address() + ": " + rootMessage(e);
    }
    String m = e.getMessage();
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m) + " (" + target.address() + ")";
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  private static void closeQuietly(Closeable c) {
    if (c != null) {
      try {
        c.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
