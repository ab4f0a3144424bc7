package io.portcullis.daemon.runtime;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.CoreConstants;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import ch.qos.logback.core.spi.ContextAwareBase;
import ch.qos.logback.core.util.FileSize;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The daemon's file logging (logback-file.xml) set up in code when that is the file logback was told to read: the
 * resource itself, or a file with exactly its bytes (the packages' unedited /etc/portcullis/logback.xml). Joran's
 * parse of the same XML costs 0.15 s on the host and about 1.8 s of a start under emulation (the ISO in qemu TCG);
 * any other file, an edited one included, is left to Joran. FileLoggingTest holds this to the XML, field by field.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_TOP_PRIORITY)
public final class FileLogging extends ContextAwareBase implements Configurator {
  static final String RESOURCE = "logback-file.xml";
  private static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{24} - %safeMsg%n";

  @Override
  public ExecutionStatus configure(LoggerContext lc) {
    if (!selected(System.getProperty("logback.configurationFile"))) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    setUp(lc);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }

  /** Whether {@code configured} (logback.configurationFile) names logback-file.xml or a file of its bytes. */
  static boolean selected(String configured) {
    if (configured == null) {
      return false;
    }
    if (configured.equals(RESOURCE)) {
      return true;
    }
    try (InputStream in = FileLogging.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      Path file = Path.of(configured);
      return in != null && Files.isRegularFile(file) && Files.size(file) < 65_536
          && Arrays.equals(in.readAllBytes(), Files.readAllBytes(file));
    } catch (IOException | RuntimeException e) {
      return false; // Joran reads it, and reports what is wrong with it
    }
  }

  /** Configures {@code lc} as logback-file.xml does. */
  static void setUp(LoggerContext lc) {
    String dir = logDir(lc);
    register(lc, io.portcullis.daemon.logging.SafeMessage.WORD, io.portcullis.daemon.logging.SafeMessage::new);
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    start(lc, console, "CONSOLE", PATTERN);

    RollingFileAppender<ILoggingEvent> file = rolling(lc, dir + "/portcullis.log",
        dir + "/portcullis.%d{yyyy-MM-dd}.%i.log.gz", "2GB");
    start(lc, file, "FILE", PATTERN);

    RollingFileAppender<ILoggingEvent> events = rolling(lc, dir + "/events.log",
        dir + "/events.%d{yyyy-MM-dd}.%i.log.gz", "5GB");
    events.setImmediateFlush(false); // flushed by the stream's buffer: events come by the thousand per second
    start(lc, events, "EVENTS_FILE", "%msg%n");

    ch.qos.logback.classic.Logger journal = lc.getLogger("portcullis.events");
    journal.setLevel(Level.OFF);
    journal.setAdditive(false);
    journal.addAppender(events);
    lc.getLogger("io.netty").setLevel(Level.WARN);
    lc.getLogger("io.vertx").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = lc.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    root.addAppender(console);
    root.addAppender(file);
  }

  /** A conversion word for {@code lc}'s patterns, as the XML's conversionRule registers it. */
  @SuppressWarnings("unchecked")
  private static void register(LoggerContext lc, String word,
      java.util.function.Supplier<ch.qos.logback.core.pattern.DynamicConverter<?>> converter) {
    Object o = lc.getObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS);
    java.util.Map<String, java.util.function.Supplier<?>> rules = (java.util.Map<String, java.util.function.Supplier<?>>) o;
    if (rules == null) {
      rules = new java.util.HashMap<>();
      lc.putObject(CoreConstants.PATTERN_RULE_REGISTRY_FOR_SUPPLIERS, rules);
    }
    rules.put(word, converter);
  }

  /** ${portcullis.logDir} as Joran substitutes it: the context's property, else the system's, else the environment's. */
  private static String logDir(LoggerContext lc) {
    String key = "portcullis.logDir";
    String v = lc.getProperty(key);
    v = v != null ? v : System.getProperty(key);
    v = v != null ? v : System.getenv(key);
    return v != null ? v : key + CoreConstants.UNDEFINED_PROPERTY_SUFFIX;
  }

  private static RollingFileAppender<ILoggingEvent> rolling(LoggerContext lc, String file, String pattern,
      String totalSizeCap) {
    RollingFileAppender<ILoggingEvent> a = new RollingFileAppender<>();
    a.setContext(lc);
    a.setFile(file);
    SizeAndTimeBasedRollingPolicy<ILoggingEvent> policy = new SizeAndTimeBasedRollingPolicy<>();
    policy.setContext(lc);
    policy.setFileNamePattern(pattern);
    policy.setMaxFileSize(FileSize.valueOf("100MB"));
    policy.setMaxHistory(30);
    policy.setTotalSizeCap(FileSize.valueOf(totalSizeCap));
    policy.setParent(a);
    policy.start();
    a.setRollingPolicy(policy);
    return a;
  }

  private static void start(LoggerContext lc, OutputStreamAppender<ILoggingEvent> a, String name, String pattern) {
    a.setContext(lc);
    a.setName(name);
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(lc);
    encoder.setPattern(pattern);
    encoder.start();
    a.setEncoder(encoder);
    a.start();
  }
}
