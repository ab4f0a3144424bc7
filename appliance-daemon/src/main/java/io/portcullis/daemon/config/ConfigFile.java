package io.portcullis.daemon.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A key whose value names a file (a String, or a List of them): it must resolve inside the config's directory, which
 * {@link ConfigFiles} checks at every commit, so that a config cannot make the node read or write files elsewhere.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface ConfigFile {
  /** Where the file may also be besides the config's directory. */
  Kind value() default Kind.READ;

  /** What the node does with the file, which decides the other directories it may be in. */
  enum Kind {
    /** read at commit: config directory only. */
    READ,
    /** a block-page template: the config directory or the packaged templates directory. */
    TEMPLATE,
    /** a file the node writes (a log): the config directory or the node's log directory. */
    LOG,
    /** a unix socket the node sends traffic to (clamd's): the config directory or ClamAV's run directory. */
    SOCKET
  }
}
