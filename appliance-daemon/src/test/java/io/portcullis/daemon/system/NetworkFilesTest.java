package io.portcullis.daemon.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.portcullis.daemon.config.ConfigException;
import io.portcullis.daemon.config.ConfigLoader;
import io.portcullis.daemon.config.NetworkConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NetworkFilesTest {
  @TempDir
  Path dir;

  static NetworkConfig parse(String yaml) throws ConfigException {
    return ConfigLoader.parse(yaml).network();
  }

  @Test
  void staticAddressesGatewayDnsNtpAndHostnameBecomeSystemdFiles() throws Exception {
    NetworkConfig n = parse("""
        network:
          manage: true
          hostname: edge-1
          interfaces:
            - { name: ens3, addresses: [10.0.2.15/24, 10.0.2.16/24], gateway: 10.0.2.2 }
            - { name: ens4, dhcp: true }
          dns: [10.0.2.3]
          ntp: [ntp.example.net]
        """);
    assertTrue(NetworkFiles.write(n, dir));
    assertEquals("[Match]\nName=ens3\n\n[Network]\nDHCP=no\nAddress=10.0.2.15/24\nAddress=10.0.2.16/24\n"
        + "Gateway=10.0.2.2\n", body(dir.resolve("10-portcullis-ens3.network")));
    assertTrue(body(dir.resolve("10-portcullis-ens4.network")).contains("DHCP=yes"));
    assertEquals("[Resolve]\nDNS=10.0.2.3\n", body(dir.resolve("resolved.conf")));
    assertEquals("[Time]\nNTP=ntp.example.net\n", body(dir.resolve("timesyncd.conf")));
    assertEquals("edge-1\n", Files.readString(dir.resolve("hostname")));
    assertTrue(Files.readString(dir.resolve(NetworkFiles.STAMP)).strip().matches("[0-9a-f]{64}"));
  }

  /** The file without its comment line. */
  static String body(Path p) throws Exception {
    return Files.readString(p).lines().filter(l -> !l.startsWith("#")).map(l -> l + "\n")
        .reduce("", String::concat);
  }

  @Test
  void theSameSettingsWriteNothingAndRemovedOnesAreDeleted() throws Exception {
    NetworkConfig two = parse("network: { manage: true, interfaces: [{ name: a1, dhcp: true }, { name: b1, dhcp: true "
        + "}], dns: [192.0.2.53] }");
    assertTrue(NetworkFiles.write(two, dir));
    assertFalse(NetworkFiles.write(two, dir), "unchanged: the helper is not woken");
    NetworkConfig one = parse("network: { manage: true, interfaces: [{ name: a1, dhcp: true }] }");
    assertTrue(NetworkFiles.write(one, dir));
    try (var files = Files.list(dir)) {
      assertEquals(List.of("10-portcullis-a1.network", "applied"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void withoutManageNothingIsWritten() throws Exception {
    assertFalse(NetworkFiles.write(parse("network: { hostname: x1 }"), dir.resolve("network")));
    assertFalse(Files.exists(dir.resolve("network")));
  }

  @Test
  void badSettingsAreRefusedByPath() {
    String m = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> parse("""
        network:
          interfaces:
            - { name: "ens3; rm", addresses: [10.0.0.1/24], gateway: gw }
            - { name: ens4 }
        """)).getMessage();
    for (String path : List.of("network.interfaces[0].name", "network.interfaces[0].gateway",
        "network.interfaces[1].addresses")) {
      assertTrue(m.contains(path), path + " in " + m);
    }
    m = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, () -> parse("""
        network:
          dns: [resolver.example]
          ntp: ["bad host!"]
        """)).getMessage();
    for (String path : List.of("network.dns[0]", "network.ntp[0]")) {
      assertTrue(m.contains(path), path + " in " + m);
    }
  }
}
