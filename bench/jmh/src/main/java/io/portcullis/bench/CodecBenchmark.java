package io.portcullis.bench;

import io.portcullis.daemon.icap.codec.IcapDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Decoding one REQMOD as Squid sends it (the ICAP server's hot path). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {
  static final byte[] REQMOD = ("REQMOD icap://127.0.0.1:1344/av/reqmod ICAP/1.0\r\nHost: 127.0.0.1:1344\r\n"
      + "Date: Sat, 28 Nov 2026 03:14:24 GMT\r\nEncapsulated: req-hdr=0, null-body=107\r\nPreview: 0\r\n"
      + "Allow: 204, trailers\r\nX-Client-IP: 127.0.0.1\r\n\r\n"
      + "GET http://127.0.0.1:18080/1k.bin HTTP/1.1\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n"
      + "Host: 127.0.0.1:18080\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
  final IcapDecoder decoder = new IcapDecoder(IcapDecoder.Mode.REQUEST, IcapDecoder.Limits.DEFAULTS);

  @Benchmark
  public List<IcapDecoder.Event> decodeReqmod() {
    return decoder.feed(ByteBuffer.wrap(REQMOD));
  }
}
