package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.List;

/** The scan engines that protection rules use. */
public record ScanConfig(
    @Doc("bodies larger than this are not scanned (the default bypass); 10MiB style units allowed")
    @Default("10485760") long maxSize,
    @Doc("what a body that protection would scan gets when it is larger than maxSize: bypass (pass unscanned, as the"
        + " commercial gateways do by default) or block (the block page, or a cut if its answer had begun)")
    @Default("bypass") OverMaxSize overMaxSize,
    @Doc("how long one scan may take") @Default("30s") Duration timeout,
    @Doc("threads that run scans (off the event loop)") @Default("4") int threads,
    @Doc("scans that may wait for a thread; past it a scan fails at once and the rule's onError decides")
    @Default("1024") int queue,
    @Doc("the built-in engine detects the EICAR test file, also inside zip archives") @Default("true") boolean eicar,
    @Doc("files of SHA-256 hashes of known-bad files, one per line (relative to the config's directory)")
    @ConfigFile List<String> hashLists,
    @Doc("ClamAV's clamd") Clamd clamd) implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    if (maxSize < 1024 || maxSize > (1L << 31)) {
      problems.add(path + ".maxSize", maxSize + " is not between 1KiB and 2GiB");
    }
    if (threads < 1 || threads > 256) {
      problems.add(path + ".threads", threads + " is not between 1 and 256");
    }
    if (queue < 1 || queue > 1_000_000) {
      problems.add(path + ".queue", queue + " is not between 1 and 1000000");
    }
  }

  /** What a body larger than {@code maxSize} gets. */
  public enum OverMaxSize { BYPASS, BLOCK }

  /** clamd, reached over TCP ({@code address}) or a unix socket ({@code socket}). */
  public record Clamd(
      @Doc("use clamd") @Default("false") boolean enabled,
      @Doc("clamd's TCP address (TCPSocket)") @OptionalKey HostPort address,
      @Doc("clamd's unix socket (LocalSocket), used when no address is given: in ClamAV's run directory or the "
          + "config's, so that a config cannot send web content to another local service's socket")
      @Default("/run/clamav/clamd.ctl") @ConfigFile(ConfigFile.Kind.SOCKET) String socket,
      @Doc("scans sent to clamd at once") @Default("8") int maxConnections,
      @Doc("how long to wait for clamd to accept a connection") @Default("2s") Duration connectTimeout)
      implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (maxConnections < 1 || maxConnections > 1024) {
        problems.add(path + ".maxConnections", maxConnections + " is not between 1 and 1024");
      }
    }
  }
}
