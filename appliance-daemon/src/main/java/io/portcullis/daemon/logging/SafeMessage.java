package io.portcullis.daemon.logging;

import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * The log pattern's {@code %safeMsg}: the message with CR, LF and other controls escaped ({@link Logs#escapeControls}),
 * whoever logged it. Our code escapes what comes from outside where it logs it; the libraries (SSHD, Netty, Vert.x)
 * log client-sent text of their own, and one line per message is what keeps a crafted value from forging a line.
 */
public final class SafeMessage extends MessageConverter {
  /** The conversion word the patterns use. */
  public static final String WORD = "safeMsg";

  @Override
  public String convert(ILoggingEvent event) {
    return Logs.escapeControls(super.convert(event));
  }
}
