package io.portcullis.daemon.icap.codec;

/** The last entry of an {@code Encapsulated} header: which body follows the header blocks, if any. */
public enum BodyKind {
  NULL_BODY("null-body"), REQ_BODY("req-body"), RES_BODY("res-body"), OPT_BODY("opt-body");

  private final String token;

  BodyKind(String token) {
    this.token = token;
  }

  public String token() {
    return token;
  }

  public boolean hasBody() {
    return this != NULL_BODY;
  }
}
