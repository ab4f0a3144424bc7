package io.portcullis.daemon.scan;

/** A malware scan engine. Blocking: {@link Scanner} calls it on its own threads, never on an event loop. */
public interface ScanEngine {

  /** The engine's name in events and metrics. */
  String name();

  /** Scans {@code data[0..length)}; returns clean, infected, or failed — never throws for a bad body. */
  ScanResult scan(byte[] data, int length);

  /** Why the engine cannot scan now (unreachable), or null when it can. Blocking and quick (health checks). */
  default String problem() {
    return null;
  }
}
