package io.portcullis.daemon.icap.codec;

import static io.portcullis.daemon.icap.codec.DecoderHarness.decode;
import static io.portcullis.daemon.icap.codec.DecoderHarness.everyByte;
import static io.portcullis.daemon.icap.codec.DecoderHarness.whole;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each malformed message gives an Error event (never an exception), the same one however it is split. */
class IcapDecoderMalformedTest {

  static Stream<Arguments> cases() {
    return MalformedIcap.cases().entrySet().stream().map(e -> Arguments.of(e.getKey(), e.getValue()));
  }

  @Test
  void thereAreAtLeastFortyFamiliesOfMalformedMessages() {
    assertTrue(MalformedIcap.cases().size() >= 40, "cases: " + MalformedIcap.cases().size());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void malformedMessageIsAnErrorResultWhateverTheSplit(String name, String message) {
    byte[] data = message.getBytes(StandardCharsets.ISO_8859_1);
    List<String> expected = whole(IcapDecoder.Mode.REQUEST, data);
    assertTrue(expected.get(expected.size() - 1).startsWith("Error["), () -> name + " was accepted: " + expected);
    assertEquals(expected, decode(IcapDecoder.Mode.REQUEST, data, everyByte(data.length)), name);
    for (long seed = 0; seed < 5; seed++) {
      assertEquals(expected, decode(IcapDecoder.Mode.REQUEST, data, DecoderHarness.randomCuts(data.length, seed)));
    }
  }

  @Test
  void theValidBaseMessagesOfTheFamiliesAreAccepted() {
    // So that each malformed case fails for its own defect, not for a broken base.
    String reqmod = MalformedIcap.reqmod("req-hdr=0, null-body=45", MalformedIcap.REQ);
    String respmod = MalformedIcap.respmod("Preview: 3\r\n", "3\r\nabc\r\n0; ieof\r\n\r\n");
    String plain = MalformedIcap.respmod("", "3;a=\"q;x\" ; b=c\r\nabc\r\n0\r\nX: y\r\n\r\n");
    for (String ok : List.of(reqmod, respmod, plain, "OPTIONS icap://h/av/reqmod ICAP/1.0\r\n\r\n")) {
      List<String> lines = whole(IcapDecoder.Mode.REQUEST, ok.getBytes(StandardCharsets.ISO_8859_1));
      assertTrue(lines.get(lines.size() - 1).startsWith("End["), () -> ok + " -> " + lines);
    }
  }
}
