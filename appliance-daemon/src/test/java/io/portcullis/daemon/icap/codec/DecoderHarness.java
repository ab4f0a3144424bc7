package io.portcullis.daemon.icap.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/** Feeds bytes to an {@link IcapDecoder} in given pieces and writes down what comes out, comparably. */
final class DecoderHarness {
  private DecoderHarness() {
  }

  static byte[] resource(String name) {
    try (InputStream in = DecoderHarness.class.getResourceAsStream("/icap-captures/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no test vector " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Decodes {@code data} cut at {@code cuts} (sorted positions); continues every preview (as after a 100 Continue).
   * Returns one line per event, body pieces joined into one line with their length and SHA-256.
   */
  static List<String> decode(IcapDecoder.Mode mode, byte[] data, int[] cuts) {
    IcapDecoder d = new IcapDecoder(mode, IcapDecoder.Limits.DEFAULTS);
    Recorder r = new Recorder(d);
    int from = 0;
    for (int cut : cuts) {
      r.take(d.feed(ByteBuffer.wrap(data, from, cut - from).slice()));
      from = cut;
    }
    r.take(d.feed(ByteBuffer.wrap(data, from, data.length - from).slice()));
    r.flushBody();
    return r.lines;
  }

  static List<String> whole(IcapDecoder.Mode mode, byte[] data) {
    return decode(mode, data, new int[0]);
  }

  static int[] everyByte(int length) {
    int[] cuts = new int[Math.max(0, length - 1)];
    for (int i = 1; i < length; i++) {
      cuts[i - 1] = i;
    }
    return cuts;
  }

  static int[] randomCuts(int length, long seed) {
    Random random = new Random(seed);
    List<Integer> cuts = new ArrayList<>();
    int at = 0;
    while (true) {
      at += 1 + random.nextInt(random.nextBoolean() ? 7 : 3000);
      if (at >= length) {
        break;
      }
      cuts.add(at);
    }
    return cuts.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Writes events down as lines; continues previews. */
  static final class Recorder {
    final List<String> lines = new ArrayList<>();
    final IcapDecoder decoder;
    final ByteArrayOutputStream body = new ByteArrayOutputStream();

    Recorder(IcapDecoder decoder) {
      this.decoder = decoder;
    }

    void take(List<IcapDecoder.Event> events) {
      for (IcapDecoder.Event e : events) {
        if (e instanceof IcapDecoder.Body b) {
          ByteBuffer data = b.data();
          byte[] bytes = new byte[data.remaining()];
          data.get(bytes);
          body.writeBytes(bytes);
          continue;
        }
        flushBody();
        if (e instanceof IcapDecoder.PreviewEnd) {
          lines.add("PREVIEW-END");
          take(decoder.continueBody());
        } else {
          lines.add(e.toString());
        }
      }
    }

    void flushBody() {
      if (body.size() > 0) {
        lines.add("BODY " + body.size() + " " + sha256(body.toByteArray()));
        body.reset();
      }
    }
  }

  static String sha256(byte[] data) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
