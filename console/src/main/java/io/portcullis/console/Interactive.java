package io.portcullis.console;

import com.fasterxml.jackson.databind.JsonNode;
import io.portcullis.console.Command.Mode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.ParsedLine;
import org.jline.reader.Reference;
import org.jline.reader.UserInterruptException;
import org.jline.reader.impl.DefaultParser;
import org.jline.terminal.Terminal;

/**
 * The shell on a terminal (local, or an SSH channel's): line editing, history, Tab completion of commands, config
 * paths, item names and enum values from the daemon's schema; {@code ?} lists the choices with one line of help each;
 * Ctrl-C cancels the line, not the shell; Ctrl-D or {@code exit} leaves.
 */
public final class Interactive {
  private final Shell shell;
  private final Terminal terminal;
  private final Path history;
  private final String user;

  /** A shell for {@code user} on {@code terminal}; {@code history} is a file, or null to keep it in memory. */
  public Interactive(AdminClient client, Terminal terminal, Path history, String user) {
    this(client, terminal, history, user, false);
  }

  /** As above; {@code remote}: served over SSH (no command reads the node's files). */
  public Interactive(AdminClient client, Terminal terminal, Path history, String user, boolean remote) {
    PrintStream out = new PrintStream(terminal.output(), true, java.nio.charset.StandardCharsets.UTF_8);
    this.shell = new Shell(client, out, out, remote);
    this.shell.progressBar(true);
    this.terminal = terminal;
    this.history = history;
    this.user = user;
  }

  /** Runs until exit; returns the last command's exit code. */
  public int run() {
    DefaultParser parser = new DefaultParser();
    parser.setEscapeChars(new char[0]); // a backslash is a character in URLs and patterns, not an escape
    LineReaderBuilder b = LineReaderBuilder.builder().terminal(terminal).parser(parser).completer(new Choices())
        .appName("portcullis");
    // A file import's line is a keytab or a key: never kept in a history, in memory or on disk.
    b.variable(LineReader.HISTORY_IGNORE, "file import *");
    if (history != null) {
      b.variable(LineReader.HISTORY_FILE, history);
    }
    LineReader reader = b.build();
    reader.getWidgets().put("portcullis-help", () -> {
      help(reader);
      return true;
    });
    reader.getKeyMaps().get(LineReader.MAIN).bind(new Reference("portcullis-help"), "?");
    // Ctrl-C while a command runs (between lines, where the terminal is not raw) ends that command, not the shell.
    terminal.handle(Terminal.Signal.INT, signal -> shell.interrupt());
    terminal.writer().println("Portcullis console. `help` or `?` lists the commands; Tab completes.");
    int last = 0;
    String node = nodeName();
    while (true) {
      String line;
      try {
        if (shell.configuring()) {
          terminal.writer().println(shell.editPath().isEmpty() ? "[edit]" : "[edit " + String.join(" ",
              shell.editPath()) + "]");
        }
        line = reader.readLine(user + "@" + node + (shell.configuring() ? "# " : "> "));
      } catch (UserInterruptException e) {
        continue; // Ctrl-C: the line is dropped, the shell stays
      } catch (EndOfFileException e) {
        break;
      }
      try {
        shell.clearInterrupt();
        int code = shell.execute(reader.getParsedLine().words().stream().filter(w -> !w.isEmpty()).toList());
        if (code == Shell.EXIT) {
          break;
        }
        last = code;
      } catch (java.net.ConnectException e) {
        terminal.writer().println("error: the daemon's admin API is not reachable");
        last = 1;
      } catch (IOException e) {
        terminal.writer().println("error: " + e.getMessage());
        last = 1;
      } catch (RuntimeException e) {
        // A bad word (a number that is not one, say) is an error line, never the end of the shell.
        terminal.writer().println("error: " + e.getMessage());
        last = 2;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      terminal.writer().flush();
    }
    try {
      shell.close();
    } catch (IOException | InterruptedException e) {
      // the daemon drops idle sessions itself
    }
    return last;
  }

  /** The node's name for the prompt, or "portcullis" if the daemon does not say. */
  private String nodeName() {
    try {
      return shell.client().get("api/v1/status").body().path("node").asText("portcullis");
    } catch (IOException | InterruptedException e) {
      return "portcullis";
    }
  }

  /** {@code ?}: the choices for the word under the cursor, each with its help, printed above the line. */
  private void help(LineReader reader) {
    ParsedLine pl = reader.getParser().parse(reader.getBuffer().toString(), reader.getBuffer().cursor());
    Map<String, String> choices = choices(pl.words().subList(0, pl.wordIndex()), pl.word());
    StringBuilder b = new StringBuilder("Possible completions:\n");
    if (choices.isEmpty()) {
      b.append("  (none)\n");
    }
    int width = choices.keySet().stream().mapToInt(String::length).max().orElse(0);
    choices.forEach((k, v) -> b.append("  ").append(k).append(" ".repeat(Math.max(1, width - k.length() + 2)))
        .append(v).append('\n'));
    reader.printAbove(b.toString().stripTrailing());
  }

  private final class Choices implements Completer {
    @Override
    public void complete(LineReader reader, ParsedLine line, List<Candidate> candidates) {
      choices(line.words().subList(0, line.wordIndex()), line.word()).forEach((k, v) ->
          candidates.add(new Candidate(k, k, null, v.isEmpty() ? null : v, null, null, !k.startsWith("<"))));
    }
  }

  /** The choices (with help) for the next word after {@code before}, starting with {@code prefix}. */
  Map<String, String> choices(List<String> before, String prefix) {
    Map<String, String> all = new LinkedHashMap<>();
    try {
      List<String> w = before;
      Mode mode = shell.mode();
      if (mode == Mode.CONFIGURATION && !w.isEmpty() && w.get(0).equals("run")) {
        w = w.subList(1, w.size());
        mode = Mode.OPERATIONAL;
      }
      all.putAll(Commands.nextWords(mode, w, shell.remote()));
      Commands.Match m = w.isEmpty() ? null : Commands.lookup(mode, w);
      if (m != null && m.command().args().contains("PATH") && !m.args().contains("|")) {
        // config paths from the daemon's schema; in configuration mode under the edit path
        List<String> path = new ArrayList<>(mode == Mode.CONFIGURATION ? shell.editPath() : List.of());
        path.addAll(m.args());
        pathChoices(path, all, m.command().words().equals(List.of("set")));
      } else if (m != null) {
        for (String k : m.command().keywords()) {
          if (!m.args().contains(k)) {
            all.put(k, m.command().keywordHelp(k));
          }
        }
      }
    } catch (IOException | InterruptedException e) {
      return Map.of();
    }
    Map<String, String> out = new LinkedHashMap<>();
    all.forEach((k, v) -> {
      if (k.startsWith(prefix) || k.startsWith("<")) {
        out.put(k, v);
      }
    });
    return out;
  }

  private void pathChoices(List<String> path, Map<String, String> out, boolean set)
      throws IOException, InterruptedException {
    Schema.Position p = shell.schema().walk(path);
    if (p == null) {
      return;
    }
    if (p.inValues()) {
      for (String v : p.node().values) {
        out.put(v, "");
      }
      if (p.node().values.isEmpty() && set) {
        out.put("<" + p.node().type + ">", p.node().doc);
      }
      return;
    }
    if (p.atItemName()) {
      for (String name : itemNames(path)) {
        out.put(name, "");
      }
      if (set) {
        out.put("<name>", "a new item's name");
      }
      return;
    }
    p.node().children.forEach((k, n) -> out.put(k, n.leaf() ? n.doc : n.namedList ? "list of named items"
        : "section"));
  }

  /** Names of the items under {@code path} (a named list) in this session's candidate. */
  private List<String> itemNames(List<String> path) throws IOException, InterruptedException {
    AdminClient.Answer a = shell.configuring() ? shell.client().get("api/v1/sessions/" + shell.session() + "/set")
        : shell.client().get("api/v1/config?format=set");
    List<String> names = new ArrayList<>();
    String prefix = "set " + String.join(" ", path) + " ";
    for (JsonNode l : a.body().path("set")) {
      String s = l.asText();
      if (s.startsWith(prefix)) {
        String rest = s.substring(prefix.length());
        String name = rest.startsWith("\"") ? rest.substring(0, rest.indexOf('"', 1) + 1) : rest.split(" ")[0];
        if (!names.contains(name)) {
          names.add(name);
        }
      }
    }
    return names;
  }
}
