package io.portcullis.daemon;

import io.portcullis.console.Main;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The local console ({@code portcullis}, the console module's Main) run in this JVM, as an admin on the node runs it. */
public final class LocalConsole {
  private LocalConsole() {
  }

  /** How a console run ended: its exit code and what it printed on stdout and on stderr. */
  public record Result(int code, String out, String err) {
  }

  /**
   * The console with {@code args} against the node whose admin API is on 127.0.0.1:{@code admin} and whose data
   * dir (token, certificate) is {@code dataDir}; {@code stdin} is what it reads (null: nothing given).
   */
  public static Result run(int admin, Path dataDir, String stdin, String... args) {
    List<String> all = new ArrayList<>(List.of("--admin", "http://127.0.0.1:" + admin, "--data-dir",
        dataDir.toString()));
    all.addAll(List.of(args));
    return run(stdin, all.toArray(String[]::new));
  }

  /** The console with {@code args} as given (it finds the node from them or from its defaults). */
  public static synchronized Result run(String stdin, String... args) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    InputStream before = System.in;
    if (stdin != null) {
      System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    }
    try {
      int code = new Main(new PrintStream(o, true, StandardCharsets.UTF_8),
          new PrintStream(e, true, StandardCharsets.UTF_8)).run(args);
      return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setIn(before);
    }
  }
}
