package io.portcullis.daemon.config;

/** A config record with rules that span its keys; called once the record is built from valid parts. */
public interface Validatable {

  /** Adds to {@code problems} what is wrong with this record found at {@code path}. */
  void validate(String path, Problems problems);
}
