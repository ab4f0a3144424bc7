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
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * ClamAV's clamd over TCP or a unix socket, with the {@code zINSTREAM} protocol: the body in length-prefixed chunks,
 * then clamd answers {@code stream: OK} or {@code stream: NAME FOUND}. At most {@code maxConnections} scans at once
 * (a bounded pool of connection slots; clamd closes an INSTREAM connection after its answer).
 */
public final class ClamdEngine implements ScanEngine {
  private static final int CHUNK = 64 * 1024;
  private final HostPort address;
  private final Path socket;
  private final Semaphore slots;
  private final Duration connectTimeout;

  public ClamdEngine(HostPort address, Path socket, int maxConnections, Duration connectTimeout) {
    this.address = address;
    this.socket = socket;
    this.slots = new Semaphore(maxConnections, true);
    this.connectTimeout = connectTimeout;
  }

  @Override
  public String name() {
    return "clamd";
  }

  @Override
  public ScanResult scan(byte[] data, int length) {
    boolean got;
    try {
      got = slots.tryAcquire(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new ScanResult.Failed("interrupted", name());
    }
    if (!got) {
      return new ScanResult.Failed("all " + slots.availablePermits() + " clamd connections busy", name());
    }
    try (SocketChannel ch = open()) {
      ch.write(ByteBuffer.wrap("zINSTREAM\0".getBytes(StandardCharsets.US_ASCII)));
      for (int off = 0; off < length; off += CHUNK) {
        int n = Math.min(CHUNK, length - off);
        ByteBuffer size = ByteBuffer.allocate(4).putInt(n).flip();
        writeFully(ch, size);
        writeFully(ch, ByteBuffer.wrap(data, off, n));
      }
      writeFully(ch, ByteBuffer.allocate(4).putInt(0).flip());
      String reply = readReply(ch);
      if (reply.endsWith(" FOUND")) {
        String threat = reply.substring(reply.indexOf(':') + 1, reply.length() - 6).strip();
        return new ScanResult.Infected(threat, name());
      }
      if (reply.endsWith(": OK") || reply.equals("OK")) {
        return ScanResult.CLEAN;
      }
      return new ScanResult.Failed("clamd answered \"" + reply + "\"", name());
    } catch (IOException e) {
      return new ScanResult.Failed("clamd at " + where() + ": " + e.getMessage(), name());
    } finally {
      slots.release();
    }
  }

  private SocketChannel open() throws IOException {
    SocketAddress target = address != null
        ? new InetSocketAddress(address.host(), address.port()) : UnixDomainSocketAddress.of(socket);
    SocketChannel ch = address != null ? SocketChannel.open() : SocketChannel.open(StandardProtocolFamily.UNIX);
    try {
      if (address != null) {
        ch.socket().connect(target, (int) connectTimeout.toMillis());
      } else {
        ch.connect(target);
      }
      return ch;
    } catch (IOException e) {
      ch.close();
      throw e;
    }
  }

  private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  private static String readReply(SocketChannel ch) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer b = ByteBuffer.allocate(512);
    while (out.size() < 4096) {
      b.clear();
      int n = ch.read(b);
      if (n < 0) {
        break;
      }
      for (int i = 0; i < n; i++) {
        byte x = b.get(i);
        if (x == 0 || x == '\n') {
          return out.toString(StandardCharsets.US_ASCII).strip();
        }
        out.write(x);
      }
    }
    return out.toString(StandardCharsets.US_ASCII).strip();
  }

  private String where() {
    return address != null ? address.toString() : socket.toString();
  }
}
