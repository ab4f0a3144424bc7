package io.portcullis.bench;

import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.HttpHead;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapRequest;
import io.portcullis.daemon.icap.codec.IcapResponse;
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

/**
 * The ICAP codec's hot paths: decoding one REQMOD as Squid sends it (the ICAP server), encoding one RESPMOD head with
 * its preview header (our proxy's ICAP client) and one 200 answer carrying a block page's HTTP head (the server).
 */
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

  static final HttpHead GET = new HttpHead("GET http://127.0.0.1:18080/64k.bin HTTP/1.1",
      Headers.of("User-Agent", "curl/7.88.1", "Accept", "*/*", "Host", "127.0.0.1:18080"));
  static final HttpHead OK = new HttpHead("HTTP/1.1 200 OK", Headers.of("Server", "nginx/1.22.1",
      "Date", "Sat, 28 Nov 2026 03:14:24 GMT", "Content-Type", "application/octet-stream", "Content-Length", "65536",
      "Last-Modified", "Sat, 28 Nov 2026 03:00:00 GMT", "ETag", "\"6748f0a0-10000\"", "Accept-Ranges", "bytes"));
  static final HttpHead BLOCKED = new HttpHead("HTTP/1.1 403 Forbidden", Headers.of("Content-Type",
      "text/html; charset=utf-8", "Content-Length", "1843", "Cache-Control", "no-store", "Connection", "close"));
  final IcapRequest respmod = new IcapRequest("RESPMOD", "icap://127.0.0.1:1344/av/respmod",
      Headers.of("Host", "127.0.0.1:1344", "Allow", "204", "X-Client-IP", "127.0.0.1"), GET, OK, BodyKind.RES_BODY, 4096);
  final IcapResponse blockAnswer = new IcapResponse(200, "OK",
      Headers.of("ISTag", "\"PC-0123456789abcdef01234567\"", "Server", "Portcullis/0.1"), null, BLOCKED,
      BodyKind.RES_BODY);

  @Benchmark
  public List<IcapDecoder.Event> decodeReqmod() {
    return decoder.feed(ByteBuffer.wrap(REQMOD));
  }

  @Benchmark
  public byte[] encodeRespmodRequest() {
    return IcapEncoder.encode(respmod);
  }

  @Benchmark
  public byte[] encodeBlockAnswer() {
    return IcapEncoder.encode(blockAnswer);
  }
}
