package io.portcullis.daemon.scan;

/** What a scan found: nothing, a threat (by the engine that named it), or no answer (why). */
public sealed interface ScanResult permits ScanResult.Clean, ScanResult.Infected, ScanResult.Failed {

  /** No engine found a threat. */
  record Clean() implements ScanResult {
  }

  /** {@code engine} found {@code threat}. */
  record Infected(String threat, String engine) implements ScanResult {
  }

  /** The scan could not be done: {@code reason}. */
  record Failed(String reason, String engine) implements ScanResult {
  }

  ScanResult CLEAN = new Clean();
}
