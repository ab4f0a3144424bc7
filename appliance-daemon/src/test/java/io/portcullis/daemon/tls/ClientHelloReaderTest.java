package io.portcullis.daemon.tls;

import static io.portcullis.daemon.tls.TlsBytes.HANDSHAKE;
import static io.portcullis.daemon.tls.TlsBytes.concat;
import static io.portcullis.daemon.tls.TlsBytes.record;
import static io.portcullis.daemon.tls.TlsBytes.records;
import static io.portcullis.daemon.tls.TlsBytes.u16;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.tls.ClientHelloReader.Hello;
import io.portcullis.daemon.tls.ClientHelloReader.Malformed;
import io.portcullis.daemon.tls.ClientHelloReader.NeedMore;
import io.portcullis.daemon.tls.ClientHelloReader.NotTls;
import io.portcullis.daemon.tls.ClientHelloReader.Result;
import io.portcullis.daemon.tls.ClientHelloReader.TooLarge;
import io.portcullis.daemon.tls.TlsBytes.Ext;
import io.portcullis.daemon.tls.TlsBytes.Parts;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The ClientHello peek on real hellos (saved from openssl s_client and curl, made by the JDK's SSLEngine, and one
 * GREASEd as Chromium does) and on broken ones: the same result however the bytes are cut into segments or the
 * message into records, every byte kept, and bad input a result, never an exception.
 */
class ClientHelloReaderTest {
  static final List<String> H2_H1 = List.of("h2", "http/1.1");

  /** A real hello and what it must read as. */
  record Real(String name, byte[] bytes, String sni, List<String> alpn, int maxVersion) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Real> realHellos() {
    return Stream.of(
        new Real("openssl-tls12", TlsBytes.resource("openssl-tls12.bin"), "example.test", H2_H1, 0x0303),
        new Real("openssl-tls13", TlsBytes.resource("openssl-tls13.bin"), "example.test", H2_H1, 0x0304),
        new Real("curl-default", TlsBytes.resource("curl-default.bin"), "example.test", H2_H1, 0x0304),
        new Real("curl-tls12", TlsBytes.resource("curl-tls12.bin"), "example.test", H2_H1, 0x0303),
        new Real("curl-no-sni", TlsBytes.resource("curl-no-sni.bin"), null, H2_H1, 0x0304),
        new Real("openssl-ip-sni", TlsBytes.resource("openssl-ip-sni.bin"), null, H2_H1, 0x0304),
        new Real("jdk-tls13", TlsBytes.jdkHello("Example.Test", "TLSv1.3", "TLSv1.2"), "example.test", H2_H1, 0x0304),
        new Real("jdk-tls12", TlsBytes.jdkHello("example.test", "TLSv1.2"), "example.test", H2_H1, 0x0303),
        new Real("jdk-no-sni", TlsBytes.jdkHello(null, "TLSv1.3"), null, H2_H1, 0x0304),
        new Real("chromium-like", chromiumLike(), "example.test", H2_H1, 0x0304));
  }

  /**
   * curl's hello GREASEd as Chromium sends it (no Chromium here to capture one): GREASE in the cipher suites, two
   * GREASE extensions, supported_versions, supported_groups, key_share and ALPN, a post-quantum key share of
   * X25519MLKEM768's size, and an ECH GREASE extension.
   */
  static byte[] chromiumLike() {
    Parts h = TlsBytes.parts(TlsBytes.resource("curl-default.bin"));
    h.suites.add(0, 0x0a0a);
    h.extensions.add(0, new Ext(0x1a1a, new byte[0]));
    byte[] versions = h.find(43).data();
    h.put(43, concat(new byte[] {(byte) (versions[0] + 2), 0x3a, 0x3a},
        Arrays.copyOfRange(versions, 1, versions.length)));
    byte[] groups = h.find(10).data();
    h.put(10, concat(u16(TlsBytes.u16(groups, 0) + 4), u16(0x4a4a), u16(0x11ec),
        Arrays.copyOfRange(groups, 2, groups.length)));
    byte[] shares = h.find(51).data();
    byte[] pq = new byte[1216];
    new Random(1).nextBytes(pq);
    byte[] more = concat(u16(0x4a4a), u16(1), new byte[] {0}, u16(0x11ec), u16(pq.length), pq);
    h.put(51, concat(u16(TlsBytes.u16(shares, 0) + more.length), more, Arrays.copyOfRange(shares, 2, shares.length)));
    h.put(16, TlsBytes.alpn(new byte[] {0x5a, 0x5a}, "h2".getBytes(StandardCharsets.US_ASCII),
        "http/1.1".getBytes(StandardCharsets.US_ASCII)));
    h.extensions.add(new Ext(0xfe0d, echGrease()));
    h.extensions.add(new Ext(0x6a6a, new byte[] {0}));
    return h.record();
  }

  /** An ECH outer extension's shape: type, HPKE suite, config id, a 32-byte enc, a payload. */
  static byte[] echGrease() {
    byte[] enc = new byte[32];
    byte[] payload = new byte[208];
    new Random(2).nextBytes(enc);
    new Random(3).nextBytes(payload);
    return concat(new byte[] {0, 0, 1, 0, 1, 0x42}, u16(enc.length), enc, u16(payload.length), payload);
  }

  // ---- reading -------------------------------------------------------------------------------------------------

  /** Feeds {@code b} in pieces ending at {@code cuts} then at its end, alternating ByteBuffer and array feeds. */
  static Result read(ClientHelloReader reader, byte[] b, int... cuts) {
    int from = 0;
    Result last = reader.result();
    for (int i = 0; i <= cuts.length; i++) {
      int to = i < cuts.length ? cuts[i] : b.length;
      if (i % 2 == 0) {
        ByteBuffer chunk = ByteBuffer.wrap(b, from, to - from);
        last = reader.feed(chunk);
        assertEquals(0, chunk.remaining(), "every byte fed is taken");
      } else {
        last = reader.feed(b, from, to - from);
      }
      from = to;
    }
    assertEquals(ByteBuffer.wrap(b), reader.bytesSeen(), "every byte fed is kept");
    assertEquals(b.length, reader.seenLength());
    assertEquals(last, reader.result());
    return last;
  }

  static Result read(byte[] b, int... cuts) {
    return read(new ClientHelloReader(), b, cuts);
  }

  /** Byte by byte: the count of bytes fed when the result became final (0: never), checking it then stays. */
  static int decidedAt(ClientHelloReader reader, byte[] b) {
    int at = 0;
    Result first = null;
    for (int i = 0; i < b.length; i++) {
      Result r = reader.feed(new byte[] {b[i]});
      if (r.isFinal() && first == null) {
        first = r;
        at = i + 1;
      }
      assertTrue(first == null || r.equals(first), "a final result stays");
    }
    assertEquals(ByteBuffer.wrap(b), reader.bytesSeen());
    return at;
  }

  /** {@code b} read whole, split in two at every position and byte by byte: one result, returned. */
  static Result readAllWays(byte[] b) {
    Result whole = read(b);
    for (int split = 0; split <= b.length; split++) {
      assertEquals(whole, read(b, split), "split at " + split);
    }
    ClientHelloReader byByte = new ClientHelloReader();
    decidedAt(byByte, b);
    assertEquals(whole, byByte.result(), "byte by byte");
    return whole;
  }

  static ClientHello hello(Result r) {
    return assertInstanceOf(Hello.class, r).hello();
  }

  static byte[] withSni(byte[] name) {
    Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls13.bin"));
    h.put(0, TlsBytes.sni(name));
    return h.record();
  }

  // ---- real hellos ---------------------------------------------------------------------------------------------

  @ParameterizedTest
  @MethodSource("realHellos")
  void realHelloIsReadTheSameHoweverCut(Real real) {
    ClientHello h = hello(readAllWays(real.bytes()));
    assertEquals(real.sni(), h.sni());
    assertEquals(real.alpn(), h.alpn());
    assertEquals(real.maxVersion(), h.maxVersion());
    assertEquals(0x0303, h.legacyVersion());
    assertEquals(real.name().equals("chromium-like"), h.ech());
    assertEquals(real.name().equals("chromium-like"), h.grease());
    assertFalse(h.cipherSuites().isEmpty());
    assertEquals(real.sni() != null || real.name().contains("ip"), h.has(ClientHello.SERVER_NAME));
    assertEquals(real.bytes().length, decidedAt(new ClientHelloReader(), real.bytes()), "decided on the last byte");
  }

  @ParameterizedTest
  @MethodSource("realHellos")
  void realHelloReframedIntoTwoAndThreeRecordsReadsTheSame(Real real) {
    ClientHello expected = hello(read(real.bytes()));
    byte[] m = TlsBytes.message(real.bytes());
    for (byte[] framed : List.of(records(m, m.length / 3), records(m, 1, m.length / 2), records(m, 7, 3),
        records(m, m.length - 1))) {
      assertEquals(expected, hello(readAllWays(framed)));
    }
  }

  @ParameterizedTest
  @MethodSource("realHellos")
  void realHelloInTwoRecordsAtEveryBoundaryReadsTheSame(Real real) {
    ClientHello expected = hello(read(real.bytes()));
    byte[] m = TlsBytes.message(real.bytes());
    for (int k = 1; k < m.length; k++) {
      byte[] framed = records(m, k);
      assertEquals(expected, hello(read(framed)), "boundary at " + k);
      assertEquals(expected, hello(read(framed, framed.length / 2)), "boundary at " + k);
    }
    int[] ones = new int[m.length - 1];
    Arrays.fill(ones, 1);
    assertEquals(expected, hello(read(records(m, ones))), "a record per byte");
  }

  @ParameterizedTest
  @MethodSource("realHellos")
  void everyTruncatedHelloNeedsMore(Real real) {
    byte[] b = real.bytes();
    for (int n = 0; n < b.length; n++) {
      assertInstanceOf(NeedMore.class, read(Arrays.copyOf(b, n)), "first " + n + " bytes");
    }
  }

  @ParameterizedTest
  @MethodSource("realHellos")
  void everyLengthFieldCorruptedIsNeverAnotherName(Real real) {
    Random random = new Random(real.name().hashCode());
    for (int[] field : TlsBytes.lengthFields(real.bytes())) {
      int at = field[0];
      int size = field[1];
      long value = 0;
      for (int i = 0; i < size; i++) {
        value = value << 8 | real.bytes()[at + i] & 0xff;
      }
      long ones = (1L << 8 * size) - 1;
      for (long bad : new long[] {value + 1, value - 1, 0, ones, value ^ (1L << 8 * size - 1), value + 4}) {
        if ((bad & ones) == value) {
          continue;
        }
        byte[] b = real.bytes().clone();
        for (int i = 0; i < size; i++) {
          b[at + i] = (byte) ((bad & ones) >> 8 * (size - 1 - i));
        }
        String where = "length at " + at + " set to " + (bad & ones);
        Result r = read(b);
        // a length grown by 4 may swallow an empty extension after it: a hello still, but never with another name
        assertTrue(r instanceof Malformed || r instanceof NeedMore || r instanceof TooLarge
            || r instanceof Hello h && Objects.equals(h.hello().sni(), real.sni()), where + ": " + r);
        assertEquals(r, read(b, random.nextInt(b.length + 1)), where);
        ClientHelloReader byByte = new ClientHelloReader();
        decidedAt(byByte, b);
        assertEquals(r, byByte.result(), where);
      }
    }
  }

  // ---- not TLS, not a hello -------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "\0\0\0\0"})
  void textIsNotTls(String text) {
    byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
    assertInstanceOf(NotTls.class, readAllWays(b));
    assertEquals(1, decidedAt(new ClientHelloReader(), b), "decided on the first byte");
  }

  @Test
  void sslv2CompatibleHelloIsNotTls() {
    byte[] v2 = {(byte) 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10, 0x07, 0x00, (byte) 0xc0,
        0x05, 0x00, (byte) 0x80, 0x03, 0x00, (byte) 0x80, 0x01, 0x00, (byte) 0x80, 0x00, 0x00, 0x2f};
    assertTrue(assertInstanceOf(NotTls.class, readAllWays(v2)).why().contains("SSLv2"));
  }

  @Test
  void handshakeRecordOfAnotherMajorVersionIsNotTls() {
    assertInstanceOf(NotTls.class, readAllWays(new byte[] {0x16, 0x02, 0x00, 0x00, 0x10}));
    assertInstanceOf(NotTls.class, readAllWays(new byte[] {0x15, 0x7f, 0x00}));
  }

  @Test
  void changeCipherSpecAlertOrDataFirstIsMalformed() {
    byte[] hello = TlsBytes.resource("openssl-tls13.bin");
    for (byte[] first : List.of(record(20, new byte[] {1}), record(21, new byte[] {2, 40}),
        record(23, new byte[] {1, 2, 3}))) {
      byte[] b = concat(first, hello);
      assertTrue(assertInstanceOf(Malformed.class, readAllWays(b)).why().contains("before the ClientHello"));
      assertEquals(2, decidedAt(new ClientHelloReader(), b));
    }
  }

  @Test
  void aRecordThatIsNotHandshakeInTheMiddleIsMalformed() {
    byte[] m = TlsBytes.message(TlsBytes.resource("curl-default.bin"));
    byte[] framed = records(m, 100);
    for (int type : new int[] {20, 21, 23, 0x47}) {
      byte[] b = framed.clone();
      b[105] = (byte) type;
      assertTrue(assertInstanceOf(Malformed.class, readAllWays(b)).why().contains("inside the ClientHello"));
    }
    byte[] b = framed.clone();
    b[106] = 2;
    assertInstanceOf(Malformed.class, readAllWays(b));
  }

  @Test
  void emptyOrOversizedRecordsAreMalformed() {
    byte[] m = TlsBytes.message(TlsBytes.resource("curl-default.bin"));
    assertInstanceOf(Malformed.class, readAllWays(concat(record(HANDSHAKE, new byte[0]), records(m))));
    assertInstanceOf(Malformed.class, readAllWays(concat(record(HANDSHAKE, Arrays.copyOf(m, 50)),
        record(HANDSHAKE, new byte[0]), record(HANDSHAKE, Arrays.copyOfRange(m, 50, m.length)))));
    assertTrue(assertInstanceOf(Malformed.class, readAllWays(new byte[] {0x16, 3, 1, 0x40, 0x01})).why()
        .contains("over 2^14"));
  }

  @Test
  void aHandshakeMessageOtherThanClientHelloIsMalformed() {
    byte[] b = TlsBytes.resource("openssl-tls13.bin").clone();
    b[5] = 2; // ServerHello
    assertTrue(assertInstanceOf(Malformed.class, readAllWays(b)).why().contains("not ClientHello"));
    assertEquals(6, decidedAt(new ClientHelloReader(), b));
  }

  @Test
  void garbageAfterAValidRecordHeaderIsNeverAHello() {
    byte[] text = "GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
    assertInstanceOf(Malformed.class, readAllWays(record(HANDSHAKE, text)));
    Random random = new Random(30);
    for (int i = 0; i < 200; i++) {
      byte[] junk = new byte[4 + random.nextInt(300)];
      random.nextBytes(junk);
      junk[0] = 1;
      junk[1] = 0;
      junk[2] = (byte) (junk.length - 4 >> 8); // the right length, so that the junk is read as a body
      junk[3] = (byte) (junk.length - 4);
      Result r = read(record(HANDSHAKE, junk), random.nextInt(junk.length + 6));
      assertInstanceOf(Malformed.class, r, "junk " + i);
    }
  }

  @Test
  void bytesAfterTheHelloInItsRecordAreMalformed() {
    byte[] m = TlsBytes.message(TlsBytes.resource("openssl-tls13.bin"));
    assertTrue(assertInstanceOf(Malformed.class, readAllWays(record(HANDSHAKE, concat(m, new byte[] {0}))))
        .why().contains("after the ClientHello"));
    assertInstanceOf(Malformed.class, readAllWays(record(HANDSHAKE, concat(m, m))));
    assertInstanceOf(Malformed.class, readAllWays(records(concat(m, new byte[] {1, 0}), m.length - 10)));
  }

  @Test
  void bytesAfterTheHelloRecordAreKeptForTheReplay() {
    byte[] hello = TlsBytes.resource("openssl-tls13.bin");
    byte[] b = concat(hello, record(20, new byte[] {1}), record(23, new byte[] {9, 9, 9}),
        "more".getBytes(StandardCharsets.US_ASCII));
    assertEquals(hello(read(hello)), hello(readAllWays(b)));
    assertEquals(hello.length, decidedAt(new ClientHelloReader(), b));
    ClientHelloReader reader = new ClientHelloReader();
    ByteBuffer view = null;
    for (int i = 0; i < b.length; i += 7) {
      reader.feed(b, i, Math.min(7, b.length - i));
      if (view == null && reader.seenLength() > 100) {
        view = reader.bytesSeen();
      }
    }
    assertEquals(ByteBuffer.wrap(b), reader.bytesSeen());
    assertEquals(ByteBuffer.wrap(b, 0, view.limit()), view, "an earlier view still shows what it showed");
    assertThrows(java.nio.ReadOnlyBufferException.class, () -> reader.bytesSeen().put(0, (byte) 0));
  }

  // ---- limits --------------------------------------------------------------------------------------------------

  /** curl's hello made over 64 KiB with many cipher suites and padding: still well formed, in 2^14-byte records. */
  static byte[] hugeHello() {
    Parts h = TlsBytes.parts(TlsBytes.resource("curl-default.bin"));
    for (int i = 0; i < 6000; i++) {
      h.suites.add(0xc100 + i % 256);
    }
    h.put(21, new byte[60000]);
    return TlsBytes.maxRecords(h.message());
  }

  @Test
  void aHelloOverTheLimitIsTooLargeOnceItsLengthIsRead() {
    byte[] huge = hugeHello();
    int length = TlsBytes.message(huge).length;
    assertTrue(length > 65536);
    assertEquals(new TooLarge(length, 65536), read(huge));
    assertEquals(new TooLarge(length, 65536), read(huge, 3, 8, 100, 20000));
    assertEquals(9, decidedAt(new ClientHelloReader(), huge), "decided on the message's header");
    ClientHello h = hello(read(new ClientHelloReader(128 * 1024), huge));
    assertEquals("example.test", h.sni());
    assertEquals(6000 + 31, h.cipherSuites().size());
    assertEquals(hello(read(new ClientHelloReader(128 * 1024), huge)),
        hello(read(new ClientHelloReader(128 * 1024), huge, 1, 5, 9, 16389, 16390, 40000)));

    byte[] curl = TlsBytes.resource("curl-default.bin");
    assertEquals(new TooLarge(512, 511), read(new ClientHelloReader(511), curl));
    assertInstanceOf(Hello.class, read(new ClientHelloReader(512), curl));
    assertThrows(IllegalArgumentException.class, () -> new ClientHelloReader(3));
  }

  // ---- server names --------------------------------------------------------------------------------------------

  @ParameterizedTest
  @ValueSource(strings = {"192.0.2.1", "127.1", "2130706433", "0x7f000001", "10.0.0.300", "::1", "[::1]",
      "2001:db8::1", "::ffff:192.0.2.1"})
  void anIpLiteralAsServerNameReadsAsNoName(String ip) {
    ClientHello h = hello(readAllWays(withSni(ip.getBytes(StandardCharsets.US_ASCII))));
    assertNull(h.sni());
    assertTrue(h.has(ClientHello.SERVER_NAME));
  }

  @ParameterizedTest
  @ValueSource(strings = {"exa mple.test", "example.test.", "a..b", ".example.test", ".", "example.test:443",
      "evil.test\0.good.test", "exa/mple.test", "ex\u00e4mple.test", "-:1", "*.example.test", "xn--\u00ff"})
  void aServerNameThatIsNoDnsNameIsMalformed(String name) {
    assertInstanceOf(Malformed.class, readAllWays(withSni(name.getBytes(StandardCharsets.ISO_8859_1))));
  }

  @Test
  void serverNameLimitsAndCase() {
    String label = "a".repeat(63);
    String longest = label + "." + label + "." + label + "." + "b".repeat(61);
    assertEquals(253, longest.length());
    for (String name : List.of(label + ".test", longest, "localhost", "xn--bcher-kva.example", "1.2.3.4.example")) {
      assertEquals(name, hello(read(withSni(name.getBytes(StandardCharsets.US_ASCII)))).sni());
    }
    assertEquals("foo_bar.example.test", hello(readAllWays(withSni("Foo_Bar.Example.TEST".getBytes()))).sni());
    assertInstanceOf(Malformed.class, read(withSni((label + "a.test").getBytes())));
    assertInstanceOf(Malformed.class, read(withSni((longest + "b").getBytes())));
  }

  @Test
  void aServerNameListOfOtherThanOneHostNameIsMalformed() {
    Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls13.bin"));
    byte[] one = TlsBytes.sni("example.test");
    byte[] entry = Arrays.copyOfRange(one, 2, one.length);
    h.put(0, concat(u16(2 * entry.length), entry, entry));
    assertTrue(assertInstanceOf(Malformed.class, readAllWays(h.record())).why().contains("more than one"));
    byte[] otherType = one.clone();
    otherType[2] = 1;
    h.put(0, otherType);
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(0, new byte[0]);
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(0, new byte[] {0, 3, 0, 0, 0});
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
  }

  // ---- extensions ----------------------------------------------------------------------------------------------

  @Test
  void greaseIsLeftOutOfEveryList() {
    ClientHello plain = hello(read(TlsBytes.resource("curl-default.bin")));
    ClientHello greased = hello(read(chromiumLike()));
    List<Integer> extensions = new ArrayList<>(plain.extensions());
    extensions.add(ClientHello.ENCRYPTED_CLIENT_HELLO);
    assertEquals(new ClientHello(plain.sni(), plain.alpn(), plain.supportedVersions(), plain.legacyVersion(), true,
        extensions, plain.cipherSuites(), true), greased);
    assertTrue(TlsBytes.message(chromiumLike()).length > 1700, "as large as a post-quantum hello");
    for (int i = 0; i < 16; i++) {
      assertTrue(ClientHello.isGrease(0x0a0a + i * 0x1010));
    }
    for (int v : new int[] {0x0a0b, 0x1a0a, 0x0a1a, 0x0303, 0xfafb, 0x00aa}) {
      assertFalse(ClientHello.isGrease(v), Integer.toHexString(v));
    }
  }

  @Test
  void anEchExtensionIsTold() {
    for (String name : List.of("curl-default.bin", "openssl-tls13.bin", "openssl-tls12.bin")) {
      ClientHello plain = hello(read(TlsBytes.resource(name)));
      Parts h = TlsBytes.parts(TlsBytes.resource(name));
      h.extensions.add(new Ext(0xfe0d, echGrease()));
      ClientHello ech = hello(readAllWays(h.record()));
      assertTrue(ech.ech());
      assertFalse(plain.ech());
      assertEquals(plain.sni(), ech.sni());
      assertEquals(plain.alpn(), ech.alpn());
      assertEquals(0xfe0d, ech.extensions().get(ech.extensions().size() - 1));
    }
  }

  @Test
  void aRepeatedExtensionIsMalformed() {
    for (int type : new int[] {ClientHello.ALPN, 0x7777, ClientHello.SERVER_NAME}) {
      Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls13.bin"));
      Ext e = h.find(type) != null ? h.find(type) : new Ext(type, new byte[0]);
      h.extensions.add(0, e);
      h.extensions.add(e);
      assertTrue(assertInstanceOf(Malformed.class, readAllWays(h.record())).why().contains("twice"));
    }
  }

  @Test
  void preSharedKeyMustComeLast() {
    Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls13.bin"));
    h.extensions.add(new Ext(ClientHello.PRE_SHARED_KEY, new byte[] {0, 0, 0, 0}));
    assertTrue(hello(readAllWays(h.record())).has(ClientHello.PRE_SHARED_KEY));
    h.extensions.add(new Ext(ClientHello.EARLY_DATA, new byte[0]));
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
  }

  @Test
  void alpnAndSupportedVersionsFraming() {
    Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls13.bin"));
    h.put(ClientHello.ALPN, TlsBytes.alpn("h2".getBytes(), new byte[0]));
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(ClientHello.ALPN, u16(0));
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(ClientHello.ALPN, TlsBytes.alpn(new byte[] {'a', (byte) 0xe9}));
    assertEquals(List.of("a\u00e9"), hello(readAllWays(h.record())).alpn());
    h.put(ClientHello.SUPPORTED_VERSIONS, new byte[] {3, 3, 4, 3});
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(ClientHello.SUPPORTED_VERSIONS, new byte[0]);
    assertInstanceOf(Malformed.class, readAllWays(h.record()));
    h.put(ClientHello.SUPPORTED_VERSIONS, new byte[] {4, 0x7f, 0x1c, 3, 3});
    assertEquals(0x0303, hello(readAllWays(h.record())).maxVersion(), "a draft version is not counted");
  }

  @Test
  void aTls12HelloWithoutExtensions() {
    Parts h = TlsBytes.parts(TlsBytes.resource("openssl-tls12.bin"));
    h.extensions = null;
    ClientHello hello = hello(readAllWays(h.record()));
    assertNull(hello.sni());
    assertEquals(List.of(), hello.alpn());
    assertEquals(List.of(), hello.extensions());
    assertEquals(0x0303, hello.maxVersion());
    byte[] stray = concat(h.message(), new byte[] {0});
    stray[3]++;
    assertInstanceOf(Malformed.class, readAllWays(record(HANDSHAKE, stray)));
  }

  // ---- random mutations ----------------------------------------------------------------------------------------

  @Test
  void randomMutationsFedInRandomChunksNeverThrowAndReadAlike() {
    List<byte[]> hellos = realHellos().map(Real::bytes).toList();
    Random random = new Random(8701);
    int hellosRead = 0;
    for (int i = 0; i < 2000; i++) {
      byte[] b = mutate(hellos.get(random.nextInt(hellos.size())), random);
      int[] cuts = random.ints(random.nextInt(6), 0, b.length + 1).sorted().toArray();
      Result whole = read(b);
      assertEquals(whole, read(b, cuts), "mutation " + i);
      hellosRead += whole instanceof Hello ? 1 : 0;
    }
    assertTrue(hellosRead > 0 && hellosRead < 2000, "some mutations still read as hellos: " + hellosRead);
  }

  /** One to three random changes: bytes set, flipped, dropped or inserted, a length changed, a cut, a re-framing. */
  static byte[] mutate(byte[] hello, Random random) {
    byte[] b = hello;
    int changes = 1 + random.nextInt(3);
    for (int c = 0; c < changes && b.length > 0; c++) {
      int at = random.nextInt(b.length);
      b = switch (random.nextInt(7)) {
        case 0 -> set(b, at, random.nextInt(256));
        case 1 -> set(b, at, b[at] ^ 1 << random.nextInt(8));
        case 2 -> concat(Arrays.copyOf(b, at), Arrays.copyOfRange(b, Math.min(b.length, at + 1 + random.nextInt(8)),
            b.length));
        case 3 -> concat(Arrays.copyOf(b, at), new byte[] {(byte) random.nextInt(256)}, Arrays.copyOfRange(b, at,
            b.length));
        case 4 -> Arrays.copyOf(b, at);
        case 5 -> {
          List<int[]> fields = b == hello ? TlsBytes.lengthFields(b) : List.of(new int[] {at, 1});
          int[] f = fields.get(random.nextInt(fields.size()));
          yield set(b, f[0] + f[1] - 1, b[f[0] + f[1] - 1] + random.nextInt(5) - 2);
        }
        default -> b == hello ? records(TlsBytes.message(b), 1 + random.nextInt(b.length - 6)) : b;
      };
    }
    return b;
  }

  static byte[] set(byte[] b, int at, int value) {
    byte[] copy = b.clone();
    copy[at] = (byte) value;
    return copy;
  }
}
