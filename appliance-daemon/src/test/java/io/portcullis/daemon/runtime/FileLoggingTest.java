package io.portcullis.daemon.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.rolling.RollingFileAppender;
import ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileLoggingTest {
  @TempDir
  Path dir;

  @Test
  void setsUpTheSameAppendersAndLoggersAsJoranReadingLogbackFileXml() throws Exception {
    LoggerContext joran = context("joran");
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(joran);
    configurator.doConfigure(getClass().getClassLoader().getResource(FileLogging.RESOURCE));
    LoggerContext code = context("code");
    FileLogging.setUp(code);
    try {
      TreeMap<String, String> expected = describe(joran);
      assertTrue(expected.toString().contains("EVENTS_FILE") && expected.toString().contains("maxHistory=30"),
          "the description reaches the appenders' policies: " + expected);
      assertEquals(expected, describe(code));
    } finally {
      joran.stop();
      code.stop();
    }
  }

  @Test
  void everyLineOfTheDaemonsLogsIsOneLineWhateverALibraryLogged() throws Exception {
    LoggerContext file = context("file");
    JoranConfigurator a = new JoranConfigurator();
    a.setContext(file);
    a.doConfigure(getClass().getClassLoader().getResource(FileLogging.RESOURCE));
    LoggerContext console = context("console");
    JoranConfigurator b = new JoranConfigurator();
    b.setContext(console);
    b.doConfigure(getClass().getClassLoader().getResource("logback.xml"));
    LoggerContext code = context("code");
    FileLogging.setUp(code);
    try {
      // As SSHD logs an auth method name a client chose, unescaped.
      String forged = "client sent method=x\n2026-12-07T00:00:00.000Z INFO  [main] Audit - user=root login\r\u001b[2J";
      int checked = 0;
      for (LoggerContext lc : List.of(file, console, code)) {
        Logger sshd = lc.getLogger("org.apache.sshd.server.auth.x");
        ch.qos.logback.classic.spi.LoggingEvent e = new ch.qos.logback.classic.spi.LoggingEvent(
            Logger.class.getName(), sshd, ch.qos.logback.classic.Level.WARN, "{}", null, new Object[] {forged});
        for (Iterator<Appender<ILoggingEvent>> it = lc.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders();
            it.hasNext(); ) {
          Appender<ILoggingEvent> app = it.next();
          String line = ((ch.qos.logback.core.encoder.LayoutWrappingEncoder<ILoggingEvent>)
              ((ch.qos.logback.core.OutputStreamAppender<ILoggingEvent>) app).getEncoder()).getLayout().doLayout(e);
          assertTrue(line.endsWith("client sent method=x\\n2026-12-07T00:00:00.000Z INFO  [main] Audit - user=root "
              + "login\\r\\x1b[2J" + System.lineSeparator()), lc.getName() + " " + app.getName() + ": " + line);
          assertEquals(1, line.lines().count(), line);
          checked++;
        }
      }
      assertEquals(5, checked, "CONSOLE and FILE of logback-file.xml and of the code, CONSOLE of logback.xml");
    } finally {
      file.stop();
      console.stop();
      code.stop();
    }
  }

  @Test
  void theComparisonSeesOneChangedSetting() throws Exception {
    LoggerContext a = context("a");
    FileLogging.setUp(a);
    LoggerContext b = context("b");
    FileLogging.setUp(b);
    try {
      assertEquals(describe(a), describe(b));
      RollingFileAppender<ILoggingEvent> file =
          (RollingFileAppender<ILoggingEvent>) b.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("FILE");
      ((SizeAndTimeBasedRollingPolicy<ILoggingEvent>) file.getRollingPolicy()).setMaxHistory(31);
      assertNotEquals(describe(a), describe(b));
    } finally {
      a.stop();
      b.stop();
    }
  }

  @Test
  void takesOverOnlyForLogbackFileXmlOrAFileWithExactlyItsBytes() throws Exception {
    byte[] xml = getClass().getClassLoader().getResourceAsStream(FileLogging.RESOURCE).readAllBytes();
    Path same = Files.write(dir.resolve("logback.xml"), xml);
    byte[] changed = xml.clone();
    changed[changed.length / 2] = (byte) (changed[changed.length / 2] == 'a' ? 'b' : 'a');
    Path edited = Files.write(dir.resolve("edited.xml"), changed);
    assertTrue(FileLogging.selected("logback-file.xml"));
    assertTrue(FileLogging.selected(same.toString()), "the packages' unedited conffile");
    assertFalse(FileLogging.selected(edited.toString()), "an edited file is Joran's");
    assertFalse(FileLogging.selected("logback.xml"));
    assertFalse(FileLogging.selected(dir.resolve("missing.xml").toString()));
    assertFalse(FileLogging.selected(dir.toString()));
    assertFalse(FileLogging.selected(null));
  }

  @Test
  void isRegisteredAsALogbackConfigurator() {
    assertTrue(ServiceLoader.load(Configurator.class).stream().anyMatch(p -> p.type() == FileLogging.class));
  }

  private LoggerContext context(String name) {
    LoggerContext lc = new LoggerContext();
    lc.setName(name);
    lc.putProperty("portcullis.logDir", dir.resolve("logs").toString()); // the same for both: paths must match
    return lc;
  }

  /** Each configured logger and each appender it holds, with their settings, as sorted text. */
  private static TreeMap<String, String> describe(LoggerContext lc) throws IllegalAccessException {
    TreeMap<String, String> out = new TreeMap<>();
    for (Logger l : lc.getLoggerList()) {
      List<String> names = new ArrayList<>();
      for (Iterator<Appender<ILoggingEvent>> it = l.iteratorForAppenders(); it.hasNext(); ) {
        Appender<ILoggingEvent> a = it.next();
        names.add(a.getName());
        out.put("appender " + a.getName(), fields(a, Collections.newSetFromMap(new IdentityHashMap<>()), 0));
      }
      if (l.getLevel() != null || !names.isEmpty()) {
        out.put("logger " + l.getName(), l.getLevel() + " additive=" + l.isAdditive() + " " + names);
      }
    }
    return out;
  }

  /** An object's class and settings: its simple fields, and logback objects it holds, depth first. */
  private static String fields(Object o, Set<Object> seen, int depth) throws IllegalAccessException {
    if (!seen.add(o) || depth > 4) {
      return o.getClass().getSimpleName() + "(seen)";
    }
    StringBuilder sb = new StringBuilder(o.getClass().getName()).append('{');
    for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field f : c.getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers()) || TIME_OF_START.contains(f.getName())) {
          continue;
        }
        f.setAccessible(true);
        Object v = f.get(o);
        Class<?> t = f.getType();
        if (t.isPrimitive() || v instanceof String || v instanceof Number || v instanceof Boolean
            || v instanceof Enum || v instanceof ch.qos.logback.core.util.FileSize) {
          sb.append(f.getName()).append('=').append(v).append(' ');
        } else if (v != null && v.getClass().getName().startsWith("ch.qos.logback.core.")
            && (v instanceof ch.qos.logback.core.encoder.Encoder || v instanceof ch.qos.logback.core.Layout
                || v instanceof ch.qos.logback.core.rolling.RollingPolicy
                || v instanceof ch.qos.logback.core.rolling.TriggeringPolicy
                || v instanceof ch.qos.logback.core.rolling.helper.FileNamePattern)) {
          sb.append(f.getName()).append('=').append(fields(v, seen, depth + 1)).append(' ');
        } else if (v != null && v.getClass().getName().startsWith("ch.qos.logback.classic.")
            && (v instanceof ch.qos.logback.core.encoder.Encoder || v instanceof ch.qos.logback.core.Layout)) {
          sb.append(f.getName()).append('=').append(fields(v, seen, depth + 1)).append(' ');
        }
      }
    }
    return sb.append('}').toString();
  }

  /** Fields set from the clock when an appender or policy starts: they differ between any two starts. */
  private static final Set<String> TIME_OF_START = Set.of("nextCheck", "lastCheck", "artificialCurrentTime",
      "dateInCurrentPeriod", "currentPeriodsCounter", "checkIncrement", "lengthCounter");
}
