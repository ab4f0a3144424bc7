package io.portcullis.daemon.tls;

import io.portcullis.daemon.config.ClusterConfig;
import io.portcullis.daemon.config.Config;
import io.portcullis.daemon.config.ConfigException;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Which inspection CA a node uses, and the interception made with it, config after config: on a cluster's node the
 * control node's (sent with the config, kept in DATA_DIR/tls/cluster); else one rotated in by the admin, else the
 * one in use while proxy.tls.ca is unchanged, else the admin's or the node's own, read (or made) now.
 */
public final class CaSource {
  /** A config's CA and the interception made with it. */
  public record Chosen(InspectionCa ca, Interception interception) {
  }

  private final Path dataDir;
  private final Path configDir;
  private final TlsCounters counters;
  private volatile InspectionCa fromCluster;
  private InspectionCa rotated; // guarded by this
  private boolean clusterChanged; // guarded by this: a new CA from the control node waits for the next choice

  /** The CAs of the node whose data is in {@code dataDir} and config in {@code configDir}; counting into counters. */
  public CaSource(Path dataDir, Path configDir, TlsCounters counters) throws IOException {
    this.dataDir = dataDir;
    this.configDir = configDir;
    this.counters = counters;
    // A cluster's node shows the control node's CA even when it starts while the control node is away.
    this.fromCluster = InspectionCa.loadFromCluster(dataDir);
  }

  /** True when a rotated CA waits for the next choice: the config in effect must be compiled again. */
  public synchronized boolean rotationPending() {
    return rotated != null || clusterChanged;
  }

  /**
   * The CA and interception for {@code c}; {@code before} (null at first) was chosen for {@code beforeConfig}. Throws
   * what is wrong with the admin's CA or proxy.tls.trust, naming the key.
   */
  public synchronized Chosen choose(Config c, Config beforeConfig, Chosen before) throws ConfigException, IOException {
    InspectionCa cluster = c.cluster().role() == ClusterConfig.Role.NODE ? fromCluster : null;
    clusterChanged = false;
    InspectionCa ca;
    if (cluster != null) {
      ca = cluster; // the control node's: proxy.tls.ca names files only the control node has
    } else if (rotated != null) {
      ca = rotated;
      rotated = null;
    } else if (before != null && before.ca() != fromCluster
        && beforeConfig.proxy().tls().ca().equals(c.proxy().tls().ca())) {
      ca = before.ca();
    } else {
      // Read at commit, as the other files the config names: an admin's CA that is no CA or not its key's is refused.
      ca = InspectionCa.loadOrCreate(dataDir, c.proxy().tls().ca(), configDir);
    }
    // proxy.tls.trust is read here too: a file that holds no certificate is refused at commit, not at first use.
    return new Chosen(ca, Interception.of(ca, c.proxy().tls(), configDir, before == null ? null : before.interception(),
        counters));
  }

  /**
   * Makes a new node's own CA, taken by the next {@link #choose}; refused (with what to do instead) when {@code c}
   * names the admin's CA or makes this node a cluster's.
   */
  public synchronized InspectionCa rotate(Config c) throws IOException {
    if (c.cluster().role() == ClusterConfig.Role.NODE) {
      throw new IllegalStateException("this node shows its control node's inspection CA: rotate it on the control "
          + "node");
    }
    if (c.proxy().tls().ca().configured()) {
      throw new IllegalStateException("proxy.tls.ca names the admin's CA: replace its files and commit");
    }
    rotated = InspectionCa.rotateOwn(dataDir);
    return rotated;
  }

  /** Keeps the CA a control node sent; a cluster's node uses it from the next {@link #choose} on. */
  public synchronized void useCluster(InspectionCa.Transfer t) throws IOException {
    fromCluster = InspectionCa.keepFromCluster(dataDir, t);
    clusterChanged = true;
  }
}
