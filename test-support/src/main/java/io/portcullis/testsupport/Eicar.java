package io.portcullis.testsupport;

/** The EICAR test file: harmless, and found by every virus scanner (clamd, the node's built-in check). */
public final class Eicar {
  /** The file's 68 bytes, as text. */
  public static final String TEXT = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

  private Eicar() {
  }
}
