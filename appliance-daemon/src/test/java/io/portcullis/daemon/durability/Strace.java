package io.portcullis.daemon.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * strace, run with {@code -y} (file descriptors shown with their paths, so no fd table needs keeping) and parsed:
 * the file system calls that succeeded, in the order strace saw them, with paths made absolute.
 */
final class Strace {
  /** The calls a durable write is made of. */
  static final String FILE_CALLS = "trace=openat,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat";

  private static final Pattern LINE = Pattern.compile("^(\\d+)\\s+(.*)$");
  private static final Pattern CALL = Pattern.compile("^(\\w+)\\((.*)\\)\\s+=\\s+(-?\\d+)(.*)$");
  private static final Pattern RESUMED = Pattern.compile("^<\\.\\.\\. (\\w+) resumed>(.*)$");
  /** An argument that names a file: an optional directory fd (with its path) and a quoted path, or an fd and path. */
  private static final Pattern PATH_ARG = Pattern.compile("(?:\\w+<([^>]*)>,\\s*)?\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern FD_ARG = Pattern.compile("^\\d+<([^>]*)>");

  private Strace() {
  }

  /** One call that succeeded: where it began and ended in the trace, its name, the paths it names. */
  record Call(int start, int end, int tid, String name, List<Path> paths) {
    @Override
    public String toString() {
      return "line " + (start + 1) + ": " + name + paths;
    }
  }

  /** The strace program, or an assertion error saying how to get it. */
  static String program() {
    for (String p : List.of("/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace")) {
      if (Files.isExecutable(Path.of(p))) {
        return p;
      }
    }
    throw new AssertionError("strace is not installed: apt-get install strace (or run .ci/run as root, which "
        + "installs every package in .ci/packages.txt)");
  }

  /** Fails, saying why, unless strace can trace a child here (ptrace may be forbidden in a container). */
  static void requireTracing(Path dir) throws Exception {
    Path out = dir.resolve("strace-probe.out");
    Process p = new ProcessBuilder(program(), "-f", "-o", dir.resolve("strace-probe.trace").toString(), "true")
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    if (!p.waitFor(1, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("strace -f true did not finish");
    }
    assertEquals(0, p.exitValue(), "strace cannot trace a child process here, so nothing about fsync can be "
        + "checked: ptrace is forbidden (a container without CAP_SYS_PTRACE or with a seccomp profile that "
        + "blocks it, or kernel.yama.ptrace_scope=3). strace said: " + Files.readString(out));
  }

  /** The calls in a trace written by {@code strace -f -y -o FILE}, with the paths of interest. */
  static List<Call> parse(Path trace) throws IOException {
    List<String> lines = Files.readAllLines(trace);
    List<Call> calls = new ArrayList<>();
    Map<Integer, String> unfinished = new HashMap<>();
    Map<Integer, Integer> begun = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      Matcher l = LINE.matcher(lines.get(i));
      if (!l.matches()) {
        continue;
      }
      int tid = Integer.parseInt(l.group(1));
      String text = l.group(2);
      int start = i;
      if (text.endsWith("<unfinished ...>")) {
        unfinished.put(tid, text.substring(0, text.length() - "<unfinished ...>".length()).stripTrailing());
        begun.put(tid, i);
        continue;
      }
      Matcher r = RESUMED.matcher(text);
      if (r.matches()) {
        String head = unfinished.remove(tid);
        Integer b = begun.remove(tid);
        if (head == null || b == null) {
          continue;
        }
        text = head + r.group(2);
        start = b;
      }
      Matcher c = CALL.matcher(text);
      if (!c.matches() || c.group(3).startsWith("-")) {
        continue; // not a call, or it failed
      }
      calls.add(new Call(start, i, tid, c.group(1), paths(c.group(1), c.group(2))));
    }
    return calls;
  }

  private static List<Path> paths(String name, String args) {
    List<Path> out = new ArrayList<>();
    if (name.equals("fsync") || name.equals("fdatasync")) {
      Matcher m = FD_ARG.matcher(args);
      if (m.find()) {
        out.add(Path.of(m.group(1)));
      }
      return out;
    }
    Matcher m = PATH_ARG.matcher(args);
    while (m.find()) {
      Path p = Path.of(m.group(2).replace("\\\"", "\""));
      out.add(p.isAbsolute() || m.group(1) == null ? p : Path.of(m.group(1)).resolve(p));
    }
    return out;
  }
}
