package io.portcullis.daemon.tls;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * The test's own TLS byte work, written apart from the reader so as not to share its mistakes: real hellos (saved
 * ones, the JDK's), taking records apart and framing a message anew, and a hello taken apart into fields for editing,
 * put back together with every length recomputed.
 */
final class TlsBytes {
  static final int HANDSHAKE = 22;

  private TlsBytes() {
  }

  /** A saved hello from src/test/resources/tls-hellos. */
  static byte[] resource(String name) {
    try (InputStream in = TlsBytes.class.getResourceAsStream("/tls-hellos/" + name)) {
      if (in == null) {
        throw new IllegalArgumentException("no resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The JDK's first flight as a client: one wrap() of a fresh engine; {@code sni} null for none. */
  static byte[] jdkHello(String sni, String... protocols) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, null, null);
      SSLEngine engine = context.createSSLEngine();
      engine.setUseClientMode(true);
      SSLParameters p = engine.getSSLParameters();
      if (sni != null) {
        p.setServerNames(List.of(new SNIHostName(sni)));
      }
      p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
      p.setProtocols(protocols);
      engine.setSSLParameters(p);
      engine.beginHandshake();
      ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
      engine.wrap(ByteBuffer.allocate(0), out);
      out.flip();
      byte[] b = new byte[out.remaining()];
      out.get(b);
      return b;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The handshake bytes carried by the records in {@code records}, joined. */
  static byte[] message(byte[] records) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int p = 0; p < records.length; ) {
      int n = u16(records, p + 3);
      out.write(records, p + 5, n);
      p += 5 + n;
    }
    return out.toByteArray();
  }

  /** {@code message} framed as handshake records of {@code sizes} bytes each, the last one taking the rest. */
  static byte[] records(byte[] message, int... sizes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int p = 0;
    for (int i = 0; i <= sizes.length; i++) {
      int n = i < sizes.length ? sizes[i] : message.length - p;
      out.writeBytes(record(HANDSHAKE, Arrays.copyOfRange(message, p, p + n)));
      p += n;
    }
    return out.toByteArray();
  }

  /** {@code message} in records of at most 2^14 bytes, as a TLS stack frames a large one. */
  static byte[] maxRecords(byte[] message) {
    int[] sizes = new int[(message.length - 1) / 16384];
    Arrays.fill(sizes, 16384);
    return records(message, sizes);
  }

  /** One record of {@code type} holding {@code body}, version 0x0301 as clients send. */
  static byte[] record(int type, byte[] body) {
    byte[] r = new byte[5 + body.length];
    r[0] = (byte) type;
    r[1] = 3;
    r[2] = 1;
    r[3] = (byte) (body.length >> 8);
    r[4] = (byte) body.length;
    System.arraycopy(body, 0, r, 5, body.length);
    return r;
  }

  static int u16(byte[] b, int p) {
    return (b[p] & 0xff) << 8 | b[p + 1] & 0xff;
  }

  static byte[] u16(int v) {
    return new byte[] {(byte) (v >> 8), (byte) v};
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** One extension of a hello being edited. */
  record Ext(int type, byte[] data) {
  }

  /** A ClientHello message taken apart: edit the fields, then {@link #message()} puts it together again. */
  static final class Parts {
    int type = 1;
    byte[] versionAndRandom;
    byte[] session;
    List<Integer> suites = new ArrayList<>();
    byte[] compression;
    List<Ext> extensions; // null: no extensions block at all

    /** The handshake message with every length computed from the fields. */
    byte[] message() {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.writeBytes(versionAndRandom);
      body.write(session.length);
      body.writeBytes(session);
      body.writeBytes(u16(suites.size() * 2));
      suites.forEach(s -> body.writeBytes(u16(s)));
      body.write(compression.length);
      body.writeBytes(compression);
      if (extensions != null) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (Ext e : extensions) {
          list.writeBytes(u16(e.type()));
          list.writeBytes(u16(e.data().length));
          list.writeBytes(e.data());
        }
        body.writeBytes(u16(list.size()));
        body.writeBytes(list.toByteArray());
      }
      byte[] b = body.toByteArray();
      return concat(new byte[] {(byte) type, (byte) (b.length >> 16), (byte) (b.length >> 8), (byte) b.length}, b);
    }

    /** The message in one record. */
    byte[] record() {
      return TlsBytes.record(HANDSHAKE, message());
    }

    /** The extension of {@code type}, or null. */
    Ext find(int type) {
      return extensions.stream().filter(e -> e.type() == type).findFirst().orElse(null);
    }

    /** Puts {@code data} in place of the extension of {@code type}, or adds it at the end. */
    void put(int type, byte[] data) {
      for (int i = 0; i < extensions.size(); i++) {
        if (extensions.get(i).type() == type) {
          extensions.set(i, new Ext(type, data));
          return;
        }
      }
      extensions.add(new Ext(type, data));
    }
  }

  /** The hello carried by {@code records}, taken apart. */
  static Parts parts(byte[] records) {
    byte[] m = message(records);
    Parts h = new Parts();
    h.type = m[0];
    int p = 4;
    h.versionAndRandom = Arrays.copyOfRange(m, p, p + 34);
    p += 34;
    h.session = Arrays.copyOfRange(m, p + 1, p + 1 + m[p]);
    p += 1 + m[p];
    int n = u16(m, p);
    for (int i = 0; i < n; i += 2) {
      h.suites.add(u16(m, p + 2 + i));
    }
    p += 2 + n;
    h.compression = Arrays.copyOfRange(m, p + 1, p + 1 + m[p]);
    p += 1 + m[p];
    if (p < m.length) {
      h.extensions = new ArrayList<>();
      for (p += 2; p < m.length; ) {
        int len = u16(m, p + 2);
        h.extensions.add(new Ext(u16(m, p), Arrays.copyOfRange(m, p + 4, p + 4 + len)));
        p += 4 + len;
      }
    }
    return h;
  }

  /** A server_name extension's data holding {@code name}'s bytes as one host_name. */
  static byte[] sni(byte[] name) {
    return concat(u16(name.length + 3), new byte[] {0}, u16(name.length), name);
  }

  static byte[] sni(String name) {
    return sni(name.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** An ALPN extension's data holding {@code names}. */
  static byte[] alpn(byte[]... names) {
    ByteArrayOutputStream list = new ByteArrayOutputStream();
    for (byte[] n : names) {
      list.write(n.length);
      list.writeBytes(n);
    }
    return concat(u16(list.size()), list.toByteArray());
  }

  /**
   * Where each length field of a one-record hello lies, as {offset, size}: the record's, the message's, the session
   * id's, the cipher suites', the compression methods', the extensions', each extension's, and inside server_name,
   * ALPN and supported_versions.
   */
  static List<int[]> lengthFields(byte[] r) {
    List<int[]> f = new ArrayList<>(List.of(new int[] {3, 2}, new int[] {6, 3}));
    int p = 9 + 34;
    f.add(new int[] {p, 1});
    p += 1 + r[p];
    f.add(new int[] {p, 2});
    p += 2 + u16(r, p);
    f.add(new int[] {p, 1});
    p += 1 + r[p];
    if (p >= r.length) {
      return f;
    }
    f.add(new int[] {p, 2});
    for (p += 2; p < r.length; ) {
      int type = u16(r, p);
      int len = u16(r, p + 2);
      f.add(new int[] {p + 2, 2});
      int d = p + 4;
      if (type == 0) {
        f.add(new int[] {d, 2});
        f.add(new int[] {d + 3, 2});
      } else if (type == 16) {
        f.add(new int[] {d, 2});
        for (int q = d + 2; q < d + len; q += 1 + (r[q] & 0xff)) {
          f.add(new int[] {q, 1});
        }
      } else if (type == 43) {
        f.add(new int[] {d, 1});
      }
      p = d + len;
    }
    return f;
  }
}
