package io.portcullis.daemon.icap.client;

/** What an ICAP service said in OPTIONS: its preview size (-1: none), whether it allows 204, until when it holds. */
public record IcapOptions(int preview, boolean allow204, long validUntilNanos) {
  /** Assumed while OPTIONS has not answered: no preview, no 204. */
  public static final IcapOptions UNKNOWN = new IcapOptions(-1, false, 0);
}
