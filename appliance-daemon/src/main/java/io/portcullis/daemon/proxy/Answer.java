package io.portcullis.daemon.proxy;

/**
 * An answer on its way to the user: the origin's response, one an ICAP server made or adapted, or our own page.
 * Exactly one of {@link #send} and {@link #discard} is called.
 */
public interface Answer {
  /** Nothing to send: the connection was taken over (a tunnel) or closed, or the user's answer is already over. */
  Answer NONE = new Answer() {
    @Override
    public void send(Exchange ex) {
    }

    @Override
    public void discard() {
    }
  };

  /** Writes the answer to the user's response and ends it. */
  void send(Exchange ex);

  /** Drops the answer unsent (the user went away), releasing what it holds (the origin's connection, say). */
  void discard();
}
