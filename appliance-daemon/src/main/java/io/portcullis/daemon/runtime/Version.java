package io.portcullis.daemon.runtime;

/** The daemon's version, from the jar's manifest; "dev" when run from classes. */
public final class Version {
  private Version() {
  }

  /** The Implementation-Version of the packaged jar, else "dev". */
  public static String get() {
    String v = Version.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
