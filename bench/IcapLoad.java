import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Closed-loop ICAP load generator: N threads, one keep-alive connection each, one request in flight per connection.
 * Usage: java bench/IcapLoad.java --host 127.0.0.1 --port 1344 --service echo --scenario reqmod-small
 *        --connections 16 --seconds 8 --warmup 2
 * Scenarios: reqmod-small (a GET, null-body, Allow: 204); respmod-SIZE (a response of SIZE random bytes, e.g. 1k,
 * 64k, 1m, with Allow: 204 as Squid sends it); respmod-SIZE-echo (the same without Allow: 204: the server must
 * send the whole body back).
 * Prints: RESULT requests=.. seconds=.. rps=.. p50_ms=.. p99_ms=.. errors=.. reconnects=..
 */
public class IcapLoad {
  static int bodySize; // RESPMOD body bytes (respmod-1k, respmod-64k, respmod-1m ...)
  static final AtomicLong errors = new AtomicLong(), reconnects = new AtomicLong();
  static final AtomicLong errorsShown = new AtomicLong();

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of("--host", "127.0.0.1", "--port", "1344", "--service", "echo",
        "--scenario", "reqmod-small", "--connections", "16", "--seconds", "8", "--warmup", "2"));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!a.containsKey(args[i])) throw new IllegalArgumentException("unknown option " + args[i]);
      a.put(args[i], args[i + 1]);
    }
    String host = a.get("--host"), service = a.get("--service"), scenario = a.get("--scenario");
    int port = Integer.parseInt(a.get("--port")), conns = Integer.parseInt(a.get("--connections"));
    double seconds = Double.parseDouble(a.get("--seconds")), warmup = Double.parseDouble(a.get("--warmup"));
    byte[] request = buildRequest(host, port, service, scenario);
    boolean respmod = scenario.startsWith("respmod"), mustEcho = scenario.endsWith("-echo");

    long t0 = System.nanoTime();
    long measureFrom = t0 + (long) (warmup * 1e9), measureTo = measureFrom + (long) (seconds * 1e9);
    Worker[] workers = new Worker[conns];
    for (int i = 0; i < conns; i++) {
      workers[i] = new Worker(host, port, request, respmod, mustEcho, measureFrom, measureTo);
      workers[i].start();
    }
    int n = 0;
    for (Worker w : workers) { w.join(); n += w.count; }
    long[] all = new long[n];
    int pos = 0;
    for (Worker w : workers) { System.arraycopy(w.lat, 0, all, pos, w.count); pos += w.count; }
    Arrays.sort(all);
    System.out.printf(java.util.Locale.ROOT,
        "RESULT requests=%d seconds=%.1f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d reconnects=%d%n",
        n, seconds, n / seconds, pct(all, 50) / 1e6, pct(all, 99) / 1e6, errors.get(), reconnects.get());
  }

  /** Nearest-rank percentile. */
  static long pct(long[] sorted, double p) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  static byte[] buildRequest(String host, int port, String service, String scenario) {
    String reqHead = "GET http://127.0.0.1:8080/1k.bin HTTP/1.1\r\n"
        + "Host: 127.0.0.1:8080\r\n"
        + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) IcapLoad/1.0\r\n"
        + "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        + "\r\n";
    String icapHead = "icap://" + host + ":" + port + "/" + service + " ICAP/1.0\r\n"
        + "Host: " + host + ":" + port + "\r\n"
        + "X-Client-IP: 127.0.0.1\r\n";
    int reqLen = reqHead.getBytes(StandardCharsets.US_ASCII).length;
    if (scenario.equals("reqmod-small")) {
      return ("REQMOD " + icapHead + "Allow: 204\r\n"
          + "Encapsulated: req-hdr=0, null-body=" + reqLen + "\r\n\r\n" + reqHead)
          .getBytes(StandardCharsets.US_ASCII);
    }
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("respmod-(\\d+)([km])(-echo)?").matcher(scenario);
    if (!m.matches()) {
      throw new IllegalArgumentException("unknown scenario " + scenario + " (reqmod-small, respmod-64k, respmod-1m-echo ...)");
    }
    bodySize = Integer.parseInt(m.group(1)) * (m.group(2).equals("k") ? 1024 : 1024 * 1024);
    boolean allow204 = m.group(3) == null;
    String resHead = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + "Content-Length: " + bodySize + "\r\n\r\n";
    int resLen = resHead.getBytes(StandardCharsets.US_ASCII).length;
    String head = "RESPMOD " + icapHead + (allow204 ? "Allow: 204\r\n" : "")
        + "Encapsulated: req-hdr=0, res-hdr=" + reqLen + ", res-body=" + (reqLen + resLen) + "\r\n\r\n"
        + reqHead + resHead + Integer.toHexString(bodySize) + "\r\n";
    byte[] body = new byte[bodySize];
    new Random(42).nextBytes(body);
    byte[] h = head.getBytes(StandardCharsets.US_ASCII), tail = "\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    byte[] out = Arrays.copyOf(h, h.length + bodySize + tail.length);
    System.arraycopy(body, 0, out, h.length, bodySize);
    System.arraycopy(tail, 0, out, h.length + bodySize, tail.length);
    return out;
  }

  static final class ProtocolException extends IOException {
    ProtocolException(String m) { super(m); }
  }

  static void error(String what) {
    errors.incrementAndGet();
    if (errorsShown.incrementAndGet() <= 5) System.err.println("error: " + what);
  }

  static final class Worker extends Thread {
    final String host; final int port; final byte[] request; final boolean respmod, mustEcho;
    final long from, to;
    long[] lat = new long[1 << 14];
    int count;
    Socket socket; InputStream in; OutputStream out;
    boolean connectedOnce;

    Worker(String host, int port, byte[] request, boolean respmod, boolean mustEcho, long from, long to) {
      this.host = host; this.port = port; this.request = request; this.respmod = respmod; this.mustEcho = mustEcho;
      this.from = from; this.to = to;
      setDaemon(true);
    }

    @Override public void run() {
      while (true) {
        long start = System.nanoTime();
        if (start >= to) break;
        try {
          if (socket == null) connect();
          out.write(request);
          out.flush();
          int status = readResponse();
          long end = System.nanoTime();
          if (status < 200 || status > 299 || (mustEcho && status != 200)) error("ICAP status " + status);
          else if (start >= from && end <= to) {
            if (count == lat.length) lat = Arrays.copyOf(lat, count * 2);
            lat[count++] = end - start;
          }
        } catch (IOException e) {
          if (System.nanoTime() < to) error(e.toString());
          close();
          try { Thread.sleep(10); } catch (InterruptedException ie) { return; }
        }
      }
      close();
    }

    void connect() throws IOException {
      if (connectedOnce) reconnects.incrementAndGet();
      connectedOnce = true;
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.setSoTimeout(10_000);
      socket.connect(new InetSocketAddress(host, port), 5_000);
      in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      out = socket.getOutputStream();
    }

    void close() {
      try { if (socket != null) socket.close(); } catch (IOException ignored) { }
      socket = null;
    }

    /** Reads one whole ICAP response; returns its status. Closes the socket on {@code Connection: close}. */
    int readResponse() throws IOException {
      String statusLine = line();
      String[] parts = statusLine.split(" ", 3);
      if (parts.length < 2 || !parts[0].startsWith("ICAP/")) throw new ProtocolException("status line " + statusLine);
      int status = Integer.parseInt(parts[1]);
      if (status == 100) throw new ProtocolException("unexpected 100 Continue");
      String encapsulated = null;
      boolean closeAfter = false;
      for (String l; !(l = line()).isEmpty(); ) {
        int c = l.indexOf(':');
        if (c < 0) throw new ProtocolException("header " + l);
        String name = l.substring(0, c).trim(), value = l.substring(c + 1).trim();
        if (name.equalsIgnoreCase("Encapsulated")) encapsulated = value;
        else if (name.equalsIgnoreCase("Connection") && value.equalsIgnoreCase("close")) closeAfter = true;
      }
      if (encapsulated != null) {
        String[] entries = encapsulated.split(",");
        String last = entries[entries.length - 1].trim();
        int eq = last.indexOf('=');
        if (eq < 0) throw new ProtocolException("Encapsulated " + encapsulated);
        String kind = last.substring(0, eq).trim();
        long offset = Long.parseLong(last.substring(eq + 1).trim());
        skip(offset); // the encapsulated HTTP header(s)
        if (kind.equals("res-body") || kind.equals("req-body")) {
          long body = chunkedBody();
          if (respmod && status == 200 && body != bodySize) throw new ProtocolException("echoed body of " + body + " bytes");
        } else if (!kind.equals("null-body") && !kind.equals("opt-body")) {
          throw new ProtocolException("Encapsulated " + encapsulated);
        } else if (kind.equals("opt-body")) {
          chunkedBody();
        }
        if (mustEcho && status == 200 && !kind.equals("res-body")) throw new ProtocolException("200 without body");
      }
      if (closeAfter) close();
      return status;
    }

    /** Reads a chunked body through its last chunk and trailer; returns the data size. */
    long chunkedBody() throws IOException {
      long total = 0;
      while (true) {
        String sizeLine = line();
        int semi = sizeLine.indexOf(';');
        String hex = (semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim();
        long size;
        try { size = Long.parseLong(hex, 16); } catch (NumberFormatException e) {
          throw new ProtocolException("chunk size line " + sizeLine);
        }
        if (size == 0) {
          while (!line().isEmpty()) { } // trailer
          return total;
        }
        skip(size);
        total += size;
        if (!line().isEmpty()) throw new ProtocolException("no CRLF after chunk");
      }
    }

    void skip(long n) throws IOException {
      while (n > 0) {
        long k = in.skip(n);
        if (k <= 0) {
          if (in.read() < 0) throw new EOFException("EOF in body");
          k = 1;
        }
        n -= k;
      }
    }

    /** One CRLF-terminated ASCII line without its CRLF (a bare LF is accepted). */
    String line() throws IOException {
      StringBuilder sb = new StringBuilder(64);
      for (int b; (b = in.read()) != '\n'; ) {
        if (b < 0) throw new EOFException("EOF after " + sb.length() + " bytes of a line");
        if (sb.length() > 65536) throw new ProtocolException("line too long");
        sb.append((char) b);
      }
      int n = sb.length();
      if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
      return sb.toString();
    }
  }
}
