package io.portcullis.daemon.runtime;

/** Where a service of the daemon stands: what health and {@code show status} report. */
public record ServiceState(Kind kind, String address, String reason) {

  /** The service's condition. */
  public enum Kind { DISABLED, STARTING, LISTENING, RUNNING, FAILED }

  public static ServiceState disabled() {
    return new ServiceState(Kind.DISABLED, null, null);
  }

  public static ServiceState listening(String address) {
    return new ServiceState(Kind.LISTENING, address, null);
  }

  public static ServiceState running(String note) {
    return new ServiceState(Kind.RUNNING, null, note);
  }

  public static ServiceState failed(String address, String reason) {
    return new ServiceState(Kind.FAILED, address, reason);
  }

  /** True unless the service should be working and is not. */
  public boolean healthy() {
    return kind != Kind.FAILED && kind != Kind.STARTING;
  }
}
