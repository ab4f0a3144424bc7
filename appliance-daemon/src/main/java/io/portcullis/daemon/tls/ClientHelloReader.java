package io.portcullis.daemon.tls;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The first bytes a client sends inside a CONNECT tunnel, read up to the end of its TLS ClientHello, so that the proxy
 * can choose to tunnel, block or intercept before anything reaches the origin. One explicit state machine over the
 * record layer (after Netty's HttpObjectDecoder and HAProxy's h1 parser): record headers are walked byte by byte,
 * the handshake message is gathered across records (RFC 8446 5.1 lets it span many) and across TCP segments of any
 * size, and the same bytes give the same {@link Result} however they are cut. Bad input is a result
 * ({@link NotTls}, {@link Malformed}, {@link TooLarge}), never an exception.
 *
 * <p>Every byte fed is kept, even after the result is known, so that a tunnel can replay them to the origin as they
 * came: {@link #bytesSeen()}. The caller bounds the wait for more bytes; this bounds the message's size.
 *
 * <p>Stricter than an origin might be only where the hello is ambiguous: a record that is not a handshake in the
 * middle, bytes after the hello in its record (RFC 8446 5.1 says abort), more than one server name (as OpenSSL and
 * BoringSSL refuse), a host name that is not a DNS name. Lenient where the name tells nothing: an IP literal as
 * server name (RFC 6066 3 forbids it, yet servers accept it) is read as no name, since it names nothing beyond the
 * CONNECT target.
 */
public final class ClientHelloReader {
  /** What the bytes fed so far amount to. */
  public sealed interface Result permits NeedMore, Hello, NotTls, Malformed, TooLarge {
    /** True once no more bytes can change the result. */
    default boolean isFinal() {
      return !(this instanceof NeedMore);
    }
  }

  /** The hello is not complete yet, and nothing so far is wrong. */
  public record NeedMore() implements Result {
  }

  /** A sound ClientHello, ending exactly at the end of a record. */
  public record Hello(ClientHello hello) implements Result {
  }

  /** The first bytes are not a TLS handshake record: plain HTTP, SSH, an SSLv2-compatible hello; {@code why} says. */
  public record NotTls(String why) implements Result {
  }

  /** TLS records, but not a sound ClientHello; {@code why} says what is wrong. */
  public record Malformed(String why) implements Result {
  }

  /** The handshake message says it is {@code length} bytes with its header, over {@code limit}. */
  public record TooLarge(int length, int limit) implements Result {
  }

  /** The default bound on the handshake message with its 4-byte header. */
  public static final int DEFAULT_LIMIT = 64 * 1024;

  private static final NeedMore NEED_MORE = new NeedMore();
  private static final int CHANGE_CIPHER_SPEC = 20;
  private static final int ALERT = 21;
  private static final int HANDSHAKE = 22;
  private static final int APPLICATION_DATA = 23;
  private static final int CLIENT_HELLO = 1;
  private static final int MAX_RECORD = 1 << 14; // RFC 8446 5.1: a plaintext fragment's bound

  private final int limit;
  private byte[] seen = new byte[512];
  private int seenLength;
  private Result result = NEED_MORE;
  // The record layer: where in a header (0 to 4), the header's type and length, what is left of the record's body.
  private int headerAt;
  private int recordType;
  private int recordLength;
  private int recordLeft;
  private int records;
  // The handshake message: where in its 4-byte header, its body's length once read, and the body gathered so far.
  private int messageAt;
  private int bodyLength;
  private byte[] body;
  private int bodyAt;

  /** A reader with the default bound of 64 KiB on the handshake message. */
  public ClientHelloReader() {
    this(DEFAULT_LIMIT);
  }

  /** A reader that answers {@link TooLarge} for a handshake message over {@code limit} bytes with its header. */
  public ClientHelloReader(int limit) {
    if (limit < 4) {
      throw new IllegalArgumentException("limit " + limit);
    }
    this.limit = limit;
  }

  /** Keeps {@code chunk}'s remaining bytes (its position moves to its limit) and returns the result so far. */
  public Result feed(ByteBuffer chunk) {
    int n = chunk.remaining();
    int from = room(n);
    chunk.get(seen, from, n);
    seenLength += n;
    return walk(from);
  }

  /** Keeps {@code b[off, off + len)} and returns the result so far. */
  public Result feed(byte[] b, int off, int len) {
    int from = room(len);
    System.arraycopy(b, off, seen, from, len);
    seenLength += len;
    return walk(from);
  }

  /** Keeps all of {@code b} and returns the result so far. */
  public Result feed(byte[] b) {
    return feed(b, 0, b.length);
  }

  /** The result so far: {@link NeedMore} until enough bytes came, then a final one that stays. */
  public Result result() {
    return result;
  }

  /** A read-only view of every byte fed so far, in order; later feeds do not change what it shows. */
  public ByteBuffer bytesSeen() {
    return ByteBuffer.wrap(seen, 0, seenLength).slice().asReadOnlyBuffer();
  }

  /** The count of bytes fed so far. */
  public int seenLength() {
    return seenLength;
  }

  /** The count of TLS records whose header was read. */
  public int records() {
    return records;
  }

  /** Makes room for {@code n} more kept bytes; returns where they go. */
  private int room(int n) {
    if (seenLength + n > seen.length) {
      seen = Arrays.copyOf(seen, Math.max(seen.length * 2, seenLength + n));
    }
    return seenLength;
  }

  /** Walks the kept bytes from {@code i} on, unless the result is already final. */
  private Result walk(int i) {
    if (!result.isFinal()) {
      result = records(i, seenLength);
    }
    return result;
  }

  /** The record layer over {@code seen[i, to)}: headers byte by byte, bodies in runs. */
  private Result records(int i, int to) {
    while (i < to) {
      if (recordLeft == 0) {
        Result r = header(seen[i++] & 0xff);
        if (r != null) {
          return r;
        }
      } else {
        int n = Math.min(recordLeft, to - i);
        recordLeft -= n;
        Result r = message(i, n);
        i += n;
        if (r != null) {
          return r;
        }
      }
    }
    return NEED_MORE;
  }

  /** One byte of a record header; null while all is well. */
  private Result header(int x) {
    switch (headerAt++) {
      case 0 -> {
        recordType = x;
        if (records > 0 && x != HANDSHAKE) {
          return new Malformed("a record of type " + x + " inside the ClientHello");
        }
        if (records == 0 && x != HANDSHAKE && x != CHANGE_CIPHER_SPEC && x != ALERT && x != APPLICATION_DATA) {
          return new NotTls(firstByte(x));
        }
      }
      case 1 -> {
        if (x != 3 && records == 0) {
          return new NotTls(String.format("record type %d with major version %d, not TLS's 3", recordType, x));
        }
        if (x != 3) {
          return new Malformed("a record of major version " + x + " inside the ClientHello");
        }
        if (recordType != HANDSHAKE) {
          return new Malformed("a " + typeName(recordType) + " record before the ClientHello");
        }
      }
      case 2 -> {
        // the minor version: RFC 8446 5.1 says to ignore it (clients send 0x0301 for compatibility)
      }
      case 3 -> recordLength = x << 8;
      default -> {
        recordLength |= x;
        headerAt = 0;
        records++;
        if (recordLength == 0) {
          return new Malformed("an empty handshake record"); // RFC 8446 5.1 forbids them
        }
        if (recordLength > MAX_RECORD) {
          return new Malformed("a record of " + recordLength + " bytes, over 2^14");
        }
        recordLeft = recordLength;
      }
    }
    return null;
  }

  /** The handshake message's bytes {@code seen[i, i + n)}, the record's {@link #recordLeft} already taken off. */
  private Result message(int i, int n) {
    int end = i + n;
    while (messageAt < 4 && i < end) {
      int x = seen[i++] & 0xff;
      switch (messageAt++) {
        case 0 -> {
          if (x != CLIENT_HELLO) {
            return new Malformed("a handshake message of type " + x + ", not ClientHello");
          }
        }
        case 1, 2 -> bodyLength = bodyLength << 8 | x;
        default -> {
          bodyLength = bodyLength << 8 | x;
          if (bodyLength > limit - 4) {
            return new TooLarge(bodyLength + 4, limit);
          }
          body = new byte[bodyLength];
        }
      }
    }
    if (messageAt < 4) {
      return null;
    }
    int take = Math.min(end - i, bodyLength - bodyAt);
    System.arraycopy(seen, i, body, bodyAt, take);
    bodyAt += take;
    if (bodyAt < bodyLength) {
      return null;
    }
    if (recordLeft + (end - i - take) > 0) {
      // RFC 8446 5.1: the ClientHello must end on a record boundary, as the keys change after it
      return new Malformed("bytes after the ClientHello in its record");
    }
    return HelloParser.parse(body);
  }

  private static String firstByte(int x) {
    if (x >= 0x80) {
      return String.format("first byte 0x%02x: an SSLv2-compatible hello or not TLS at all", x);
    }
    if (x >= 0x20 && x < 0x7f) {
      return String.format("first byte '%c': text (plain HTTP?), not a TLS record", (char) x);
    }
    return String.format("first byte 0x%02x is not a TLS record type", x);
  }

  private static String typeName(int type) {
    return switch (type) {
      case CHANGE_CIPHER_SPEC -> "change_cipher_spec";
      case ALERT -> "alert";
      default -> "application_data";
    };
  }
}
