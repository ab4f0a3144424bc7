package io.portcullis.daemon.icap.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the encoder writes, the decoder reads back equal (both directions). */
class IcapEncoderTest {

  static List<IcapDecoder.Event> decodeAll(IcapDecoder.Mode mode, byte[] bytes) {
    return new IcapDecoder(mode, IcapDecoder.Limits.DEFAULTS).feed(ByteBuffer.wrap(bytes));
  }

  @Test
  void requestRoundTripsWithComputedEncapsulatedAndBody() {
    HttpHead req = HttpHead.request("GET", "http://a.test/x", Headers.of("Host", "a.test", "Accept", "*/*"));
    HttpHead res = HttpHead.response(200, "OK", Headers.of("Content-Type", "text/plain"));
    IcapRequest r = new IcapRequest("RESPMOD", "icap://127.0.0.1:1344/av/respmod", Headers.of("Host", "127.0.0.1",
        "Allow", "204"), req, res, BodyKind.RES_BODY, -1);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(IcapEncoder.encode(r));
    out.writeBytes(IcapEncoder.chunk("hello".getBytes(StandardCharsets.US_ASCII)));
    out.writeBytes(IcapEncoder.LAST_CHUNK);
    String text = out.toString(StandardCharsets.ISO_8859_1);
    assertTrue(text.contains("Encapsulated: req-hdr=0, res-hdr=" + req.encode().length + ", res-body="
        + (req.encode().length + res.encode().length) + "\r\n"), text);
    List<IcapDecoder.Event> events = decodeAll(IcapDecoder.Mode.REQUEST, out.toByteArray());
    assertEquals(r, ((IcapDecoder.Head) events.get(0)).message());
    assertEquals("hello", StandardCharsets.US_ASCII.decode(((IcapDecoder.Body) events.get(1)).data()).toString());
    assertTrue(events.get(2) instanceof IcapDecoder.End);
  }

  @Test
  void previewRequestRoundTrips() {
    IcapRequest r = new IcapRequest("REQMOD", "icap://h/av/reqmod", Headers.of("Host", "h"),
        HttpHead.request("POST", "http://a.test/", Headers.of("Host", "a.test")), null, BodyKind.REQ_BODY, 4);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(IcapEncoder.encode(r));
    out.writeBytes(IcapEncoder.chunk("ab".getBytes(StandardCharsets.US_ASCII)));
    out.writeBytes(IcapEncoder.LAST_CHUNK_IEOF);
    List<IcapDecoder.Event> events = decodeAll(IcapDecoder.Mode.REQUEST, out.toByteArray());
    assertEquals(r, ((IcapDecoder.Head) events.get(0)).message());
    assertTrue(events.get(2) instanceof IcapDecoder.End, events.toString());
  }

  @Test
  void responseRoundTrips() {
    IcapResponse r = new IcapResponse(200, "OK", Headers.of("ISTag", "\"x\""), null,
        HttpHead.response(403, "Forbidden", Headers.of("Content-Type", "text/html", "Content-Length", "2")),
        BodyKind.RES_BODY);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(IcapEncoder.encode(r));
    out.writeBytes(IcapEncoder.chunk("no".getBytes(StandardCharsets.US_ASCII)));
    out.writeBytes(IcapEncoder.LAST_CHUNK);
    IcapResponse nothing = new IcapResponse(204, "No Content", Headers.of("ISTag", "\"x\""), null, null,
        BodyKind.NULL_BODY);
    out.writeBytes(IcapEncoder.encode(nothing));
    List<IcapDecoder.Event> events = decodeAll(IcapDecoder.Mode.RESPONSE, out.toByteArray());
    assertEquals(r, ((IcapDecoder.Head) events.get(0)).message());
    assertEquals(nothing, ((IcapDecoder.Head) events.get(3)).message());
    assertEquals(5, events.size());
  }
}
