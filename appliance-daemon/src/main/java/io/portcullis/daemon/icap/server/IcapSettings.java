package io.portcullis.daemon.icap.server;

import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.IcapConfig;
import io.portcullis.daemon.icap.codec.BodyKind;
import io.portcullis.daemon.icap.codec.Headers;
import io.portcullis.daemon.icap.codec.IcapDecoder;
import io.portcullis.daemon.icap.codec.IcapEncoder;
import io.portcullis.daemon.icap.codec.IcapResponse;
import io.portcullis.daemon.rules.Policy;
import io.portcullis.daemon.scan.Scanner;
import java.util.HexFormat;

/**
 * What the ICAP server works from, made once per commit: its config section, the compiled policy, the scanner, the
 * node's name, where traffic events go, and the ISTag — a digest of the whole config, so it changes whenever a commit changes what we answer.
 */
public record IcapSettings(IcapConfig icap, Policy policy, Scanner scanner, String node, String istag,
    io.netty.buffer.ByteBuf noContent, io.portcullis.daemon.events.Events events,
    java.util.List<io.portcullis.daemon.rules.CidrMatcher> allowedClients) {

  public static IcapSettings of(Config config, Policy policy, Scanner scanner, io.portcullis.daemon.events.Events events) {
    String istag = istag(config);
    // The 204 answer is the same for every message under one config: encoded once, into native memory (a write from
    // the heap is copied there first), shared by every connection through duplicates that a release cannot free.
    byte[] bytes = IcapEncoder.encode(new IcapResponse(204, "No Content",
        Headers.of("ISTag", istag, "Server", IcapAnswers.SERVER), null, null, BodyKind.NULL_BODY));
    java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(bytes.length).put(bytes).flip(); // freed by GC
    io.netty.buffer.ByteBuf noContent = io.netty.buffer.Unpooled.unreleasableBuffer(
        io.netty.buffer.Unpooled.wrappedBuffer(direct));
    return new IcapSettings(config.icap(), policy, scanner, config.node().name(), istag, noContent, events,
        config.icap().allowedClients().stream().map(io.portcullis.daemon.rules.CidrMatcher::new).toList());
  }

  static String istag(Config config) {
    byte[] d = ConfigLoader.digest(config);
    return "\"PC-" + HexFormat.of().formatHex(d, 0, 12) + "\"";
  }

  IcapDecoder.Limits limits() {
    IcapConfig.IcapLimits l = icap.limits();
    return new IcapDecoder.Limits(l.maxHeaderBytes(), l.maxHeaderCount(), l.maxHttpHeaderBytes(), l.maxChunkSize(),
        1024 * 1024);
  }
}
