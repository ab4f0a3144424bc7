package io.portcullis.bench;

import io.portcullis.daemon.tls.ClientHelloReader;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ClientHello peek each CONNECT will pay before choosing to tunnel, block or intercept: the JDK's TLS 1.3 hello
 * (SNI, ALPN h2 and http/1.1) read whole, in three TCP segments, and framed as three records.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class ClientHelloBenchmark {
  byte[] hello;
  byte[] threeRecords;
  int cut1;
  int cut2;

  @Setup
  public void setUp() throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, null, null);
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(true);
    SSLParameters p = engine.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName("www.example.test")));
    p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
    p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    engine.setSSLParameters(p);
    engine.beginHandshake();
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.wrap(ByteBuffer.allocate(0), out);
    hello = Arrays.copyOf(out.array(), out.position());
    cut1 = hello.length / 3;
    cut2 = 2 * hello.length / 3;
    byte[] m = Arrays.copyOfRange(hello, 5, hello.length);
    threeRecords = new byte[m.length + 15];
    int at = 0;
    for (int[] part : new int[][] {{0, cut1}, {cut1, cut2}, {cut2, m.length}}) {
      int n = part[1] - part[0];
      threeRecords[at] = 22;
      threeRecords[at + 1] = 3;
      threeRecords[at + 2] = 1;
      threeRecords[at + 3] = (byte) (n >> 8);
      threeRecords[at + 4] = (byte) n;
      System.arraycopy(m, part[0], threeRecords, at + 5, n);
      at += 5 + n;
    }
    if (!(new ClientHelloReader().feed(hello) instanceof ClientHelloReader.Hello)
        || !(new ClientHelloReader().feed(threeRecords) instanceof ClientHelloReader.Hello)) {
      throw new IllegalStateException("the hello does not read");
    }
  }

  @Benchmark
  public ClientHelloReader.Result whole() {
    return new ClientHelloReader().feed(hello);
  }

  @Benchmark
  public ClientHelloReader.Result threeSegments() {
    ClientHelloReader r = new ClientHelloReader();
    r.feed(hello, 0, cut1);
    r.feed(hello, cut1, cut2 - cut1);
    return r.feed(hello, cut2, hello.length - cut2);
  }

  @Benchmark
  public ClientHelloReader.Result threeRecords() {
    return new ClientHelloReader().feed(threeRecords);
  }
}
