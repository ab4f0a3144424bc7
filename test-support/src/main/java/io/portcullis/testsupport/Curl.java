package io.portcullis.testsupport;

import io.portcullis.testsupport.Host.Run;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The real curl as the tests run it: quiet but for errors ({@code -sS}), bounded by {@code --max-time}, in the test's
 * directory, through a proxy on loopback if one is given. Each call is a new curl process.
 *
 * @param dir where curl runs (and its output is kept)
 * @param maxTime curl's {@code --max-time}, in seconds
 * @param showError whether curl's own error message (-S) joins the output
 * @param options what every call gives before its own arguments
 */
public record Curl(Path dir, int maxTime, boolean showError, List<String> options) {
  public Curl {
    options = List.copyOf(options);
  }

  /** curl in {@code dir}, at most 60 s a call; fails the test at once if curl is not installed. */
  public static Curl in(Path dir) {
    Peers.require("curl", "curl");
    return new Curl(dir, 60, true, List.of());
  }

  /** Through the HTTP proxy on 127.0.0.1:{@code port}. */
  public Curl proxy(int port) {
    return with("-x", "http://127.0.0.1:" + port);
  }

  /** At most {@code seconds} a call. */
  public Curl maxTime(int seconds) {
    return new Curl(dir, seconds, showError, options);
  }

  /** Without {@code -S}: the output is what the server sent (or nothing), never curl's own error message. */
  public Curl hideErrors() {
    return new Curl(dir, maxTime, false, options);
  }

  /** With {@code more} options on every call. */
  public Curl with(String... more) {
    List<String> all = new ArrayList<>(options);
    all.addAll(List.of(more));
    return new Curl(dir, maxTime, showError, all);
  }

  /** Runs curl with {@code args} after the options; its exit code and output (stdout and stderr). */
  public Run run(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", showError ? "-sS" : "-s", "--max-time", Integer.toString(maxTime)));
    cmd.addAll(options);
    cmd.addAll(List.of(args));
    return Host.runIn(dir, cmd.toArray(String[]::new));
  }

  /** The HTTP status of a GET of {@code url} (what curl's {@code -w %{http_code}} prints), its body in {@code to}. */
  public String status(String url, Path to) throws Exception {
    return run("-o", to.toString(), "-w", "%{http_code}", url).output().strip();
  }

  /** The HTTP status of a GET of {@code url}, its body dropped. */
  public String status(String url) throws Exception {
    return run("-o", "/dev/null", "-w", "%{http_code}", url).output().strip();
  }
}
