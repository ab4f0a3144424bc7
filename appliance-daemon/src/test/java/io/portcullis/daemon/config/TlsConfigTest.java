package io.portcullis.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** proxy.tls as the config reads it: inspection off, the node's own CA and ECDSA leaves unless told otherwise. */
class TlsConfigTest {

  @Test
  void leftOutItMeansNoInspectionTheNodesCaAndEcdsaLeaves() throws Exception {
    TlsConfig t = ConfigLoader.parse("").proxy().tls();
    assertEquals(new TlsConfig(false, new TlsConfig.Ca(null, null), List.of(), List.of(), TlsConfig.LeafKey.ECDSA,
        new TlsConfig.Cache(10_000), TlsConfig.NonTls.BLOCK, TlsConfig.OnEch.JUDGE, java.time.Duration.ofSeconds(10),
        65536), t);
    assertFalse(t.ca().configured());
  }

  @Test
  void everyKeyIsRead() throws Exception {
    TlsConfig t = ConfigLoader.parse("""
        proxy:
          tls:
            inspect: true
            ca: { certificate: ca/inspect.crt, key: ca/inspect.key }
            trust: [origins/internal-root.pem]
            allowedCertificates: ["AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"]
            leafKey: rsa
            cache: { maxEntries: 50 }
            onNonTls: tunnel
            onEch: block
            helloTimeout: 3s
            maxHelloBytes: 4096
        """).proxy().tls();
    assertEquals(new TlsConfig(true, new TlsConfig.Ca("ca/inspect.crt", "ca/inspect.key"),
        List.of("origins/internal-root.pem"),
        List.of("AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"),
        TlsConfig.LeafKey.RSA, new TlsConfig.Cache(50), TlsConfig.NonTls.TUNNEL,
        TlsConfig.OnEch.BLOCK, java.time.Duration.ofSeconds(3), 4096), t);
  }

  @Test
  void aCertificateWithoutItsKeyAndOtherMistakesAreReportedTogether() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse("""
        proxy:
          tls:
            inspect: false
            ca: { certificate: ca.crt }
            leafKey: dsa
            cache: { maxEntries: 0 }
        """));
    assertEquals(List.of(
        "proxy.tls.ca.key: is required with certificate (line 4, column 9)",
        "proxy.tls.leafKey: \"dsa\" is not one of ecdsa, rsa (line 5, column 14)",
        "proxy.tls.cache.maxEntries: 0 is not between 1 and 1000000 (line 6, column 26)"),
        e.problems().stream().map(Problem::toString).toList());
  }

  @Test
  void anAllowedCertificateMustBeASha256Fingerprint() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(
        "proxy:\n  tls:\n    allowedCertificates: [\"AB:CD\", \"" + "ab".repeat(32) + "\"]\n"));
    assertEquals(List.of("proxy.tls.allowedCertificates[0]: must be a SHA-256 fingerprint: 64 hex digits, in pairs "
        + "optionally separated by colons"), e.problems().stream().map(p -> p.path() + ": " + p.message()).toList());
  }
}
