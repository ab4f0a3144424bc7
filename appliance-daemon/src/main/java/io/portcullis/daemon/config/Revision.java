package io.portcullis.daemon.config;

import java.time.Instant;

/** One committed config: its number (1, 2, …), when, by whom, and the commit message. */
public record Revision(int number, Instant time, String author, String message) {
}
