package io.portcullis.daemon.tls;

import java.util.List;

/**
 * What a client's TLS ClientHello says that the choice to tunnel, block or intercept a CONNECT needs: read by
 * {@link ClientHelloReader}, never changed. GREASE values (RFC 8701) are left out of every list, so that a list
 * compares equal across a browser's connections; {@link #grease()} tells that there were some.
 *
 * @param sni the server_name's host name, lower-cased, without a trailing dot; null when the client sent none, or
 *     sent an IP literal (RFC 6066 3 allows none: it names nothing the CONNECT target does not)
 * @param alpn the ALPN protocol names in the client's order (RFC 7301), each byte as one char; empty when absent
 * @param supportedVersions the supported_versions extension's versions (RFC 8446 4.2.1) in order; empty when absent
 * @param legacyVersion the version field of the hello itself (0x0303 for TLS 1.2 and 1.3)
 * @param ech the encrypted_client_hello extension (0xfe0d) is there: the true server name may be hidden
 * @param extensions the extension types in the client's order
 * @param cipherSuites the cipher suites in the client's order
 * @param grease the client sent a GREASE value in its cipher suites, extensions, supported_versions or ALPN
 */
public record ClientHello(String sni, List<String> alpn, List<Integer> supportedVersions, int legacyVersion,
    boolean ech, List<Integer> extensions, List<Integer> cipherSuites, boolean grease) {
  /** TLS 1.3's version number. */
  public static final int TLS13 = 0x0304;
  /** TLS 1.2's version number. */
  public static final int TLS12 = 0x0303;
  /** The extension type of server_name. */
  public static final int SERVER_NAME = 0;
  /** The extension type of application_layer_protocol_negotiation. */
  public static final int ALPN = 16;
  /** The extension type of pre_shared_key, which must come last. */
  public static final int PRE_SHARED_KEY = 41;
  /** The extension type of early_data: 0-RTT data may follow the hello. */
  public static final int EARLY_DATA = 42;
  /** The extension type of supported_versions. */
  public static final int SUPPORTED_VERSIONS = 43;
  /** The extension type of encrypted_client_hello. */
  public static final int ENCRYPTED_CLIENT_HELLO = 0xfe0d;

  /** Copies the lists, which must hold no null, into unmodifiable ones. */
  public ClientHello {
    alpn = List.copyOf(alpn);
    supportedVersions = List.copyOf(supportedVersions);
    extensions = List.copyOf(extensions);
    cipherSuites = List.copyOf(cipherSuites);
  }

  /** The highest version offered between SSL 3.0 and TLS 1.3: from supported_versions, else the legacy version. */
  public int maxVersion() {
    int max = 0;
    for (int v : supportedVersions) {
      if (v >= 0x0300 && v <= TLS13 && v > max) {
        max = v;
      }
    }
    return max != 0 ? max : legacyVersion;
  }

  /** True if the client sent an extension of {@code type}. */
  public boolean has(int type) {
    return extensions.contains(type);
  }

  /** True if the client offers 0-RTT data, which follows the hello before any answer. */
  public boolean earlyData() {
    return has(EARLY_DATA);
  }

  /** True if {@code value} is a GREASE value (RFC 8701): 0x?A?A with both bytes equal. */
  public static boolean isGrease(int value) {
    return (value & 0x0f0f) == 0x0a0a && (value >> 8) == (value & 0xff);
  }
}
