package io.portcullis.daemon.system;

import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.Cidr;
import io.portcullis.daemon.config.NetworkConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The node's network settings ({@code network.*}) as systemd files in {@code DATA_DIR/network}: the daemon runs
 * unprivileged, so a root helper (the appliance's portcullis-network.path) installs them when the stamp file
 * {@value #STAMP} changes, and again at boot from the data disk. Only with {@code network.manage}.
 */
public final class NetworkFiles {
  /** Written last, with the digest of the other files: what the helper watches. */
  public static final String STAMP = "applied";

  private NetworkFiles() {
  }

  /** The files for {@code n}, by name: a .network per interface, resolved.conf, timesyncd.conf, hostname. */
  public static Map<String, String> render(NetworkConfig n) {
    Map<String, String> files = new TreeMap<>();
    String head = "# Written by Portcullis from its network settings (network.*): change them with the console.\n";
    for (NetworkConfig.Interface i : n.interfaces()) {
      StringBuilder b = new StringBuilder(head).append("[Match]\nName=").append(i.name()).append("\n\n[Network]\n")
          .append("DHCP=").append(i.dhcp() ? "yes" : "no").append('\n');
      for (Cidr a : i.addresses()) {
        b.append("Address=").append(a.address()).append('/').append(a.prefix()).append('\n');
      }
      if (i.gateway() != null) {
        b.append("Gateway=").append(i.gateway()).append('\n');
      }
      files.put("10-portcullis-" + i.name() + ".network", b.toString());
    }
    if (!n.dns().isEmpty()) {
      files.put("resolved.conf", head + "[Resolve]\nDNS=" + String.join(" ", n.dns()) + "\n");
    }
    if (!n.ntp().isEmpty()) {
      files.put("timesyncd.conf", head + "[Time]\nNTP=" + String.join(" ", n.ntp()) + "\n");
    }
    if (n.hostname() != null) {
      files.put("hostname", n.hostname() + "\n");
    }
    return files;
  }

  /**
   * Writes the files for {@code n} into {@code dir} (stale ones removed, the stamp last) when they differ from what
   * is there; returns whether anything changed. Does nothing unless {@code network.manage}.
   */
  public static boolean write(NetworkConfig n, Path dir) throws IOException {
    if (!n.manage()) {
      return false;
    }
    Map<String, String> files = render(n);
    String digest = digest(files);
    Path stamp = dir.resolve(STAMP);
    if (Files.isRegularFile(stamp) && Files.readString(stamp, StandardCharsets.UTF_8).strip().equals(digest)) {
      return false;
    }
    Files.createDirectories(dir);
    try (var old = Files.list(dir)) {
      for (Path p : (Iterable<Path>) old::iterator) {
        if (!files.containsKey(p.getFileName().toString()) && !p.getFileName().toString().equals(STAMP)) {
          Files.delete(p);
        }
      }
    }
    for (Map.Entry<String, String> f : files.entrySet()) {
      AtomicFiles.write(dir.resolve(f.getKey()), f.getValue().getBytes(StandardCharsets.UTF_8), null);
    }
    AtomicFiles.write(stamp, (digest + "\n").getBytes(StandardCharsets.UTF_8), null);
    return true;
  }

  private static String digest(Map<String, String> files) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      files.forEach((k, v) -> md.update((k + "\0" + v + "\0").getBytes(StandardCharsets.UTF_8)));
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
