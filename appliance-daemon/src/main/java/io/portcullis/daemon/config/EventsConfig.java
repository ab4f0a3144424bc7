package io.portcullis.daemon.config;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Traffic events: the node's journal and the syslog servers (SIEM) they are sent to. */
public record EventsConfig(
    @Doc("the journal on this node's disk that `show events` reads") Journal journal,
    @Doc("syslog servers each event is sent to (RFC 5424 over udp, tcp or tls; CEF or JSON)")
    List<SyslogTarget> syslog,
    @Doc("heap that events waiting for the events thread (journal, syslog queues, logger) may take at most, as "
        + "estimated from their text; past it new ones are dropped and counted: traffic never waits (10MiB style "
        + "units allowed)") @Default("33554432") long maxQueued) implements Validatable {

  /** The journal: files of JSON lines in the data directory, the oldest deleted past its size or age. */
  public record Journal(
      @Doc("keep events on this node") @Default("true") boolean enabled,
      @Doc("the journal's size at most; older files are deleted past it (10MiB style units allowed)")
      @Default("268435456") long maxSize,
      @Doc("events older than this are deleted (by file)") @Default("30d") Duration maxAge,
      @Doc("a journal file is closed and a new one begun at this size") @Default("16777216") long segmentSize)
      implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (segmentSize < 64 * 1024 || segmentSize > 64L * 1024 * 1024) {
        // A query reads whole files: a bounded file keeps its memory bounded.
        problems.add(path + ".segmentSize", segmentSize + " is not between 64KiB and 64MiB");
      }
      if (maxSize < segmentSize * 2) {
        problems.add(path + ".maxSize", "must be at least two segments (" + 2 * segmentSize + " bytes)");
      }
      if (maxAge.isNegative() || maxAge.isZero()) {
        problems.add(path + ".maxAge", "must be more than 0s");
      }
    }
  }

  /** How events reach a syslog server. */
  public enum Transport { UDP, TCP, TLS }

  /** What a syslog message carries: ArcSight's Common Event Format, or the event as JSON. */
  public enum Format { CEF, JSON }

  /** One syslog server. */
  public record SyslogTarget(
      @Doc("the target's name (in metrics and logs)") String name,
      @Doc("the syslog server, host:port") HostPort address,
      @Doc("udp (RFC 5426), tcp (RFC 6587 octet counting) or tls (RFC 5425)") @Default("udp") Transport transport,
      @Doc("cef or json") @Default("cef") Format format,
      @Doc("syslog facility, 0-23 (16: local0)") @Default("16") int facility,
      @Doc("events waiting to be sent at most; past it new ones are dropped and counted, traffic never waits")
      @Default("10000") int queue,
      @Doc("tls: PEM file of the CA certificates to trust (relative to the config's directory); empty: the JVM's")
      @Default("") @ConfigFile String ca,
      @Doc("tls: check that the server's certificate names its host") @Default("true") boolean verifyHost)
      implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (!name.matches("[A-Za-z0-9_.-]{1,64}")) {
        problems.add(path + ".name", "\"" + name + "\" is not a name (letters, digits, _ . -)");
      }
      problems.between(path + ".facility", facility, 0, 23);
      problems.between(path + ".queue", queue, 1, 10_000_000);
      if (!ca.isEmpty() && transport != Transport.TLS) {
        problems.add(path + ".ca", "is only used with transport tls");
      }
    }
  }

  @Override
  public void validate(String path, Problems problems) {
    if (maxQueued < 1024 * 1024 || maxQueued > 1L << 32) {
      problems.add(path + ".maxQueued", maxQueued + " is not between 1MiB and 4GiB");
    }
    Set<String> names = new HashSet<>();
    for (int i = 0; i < syslog.size(); i++) {
      if (!names.add(syslog.get(i).name())) {
        problems.add(path + ".syslog[" + i + "].name", "syslog target " + syslog.get(i).name() + " is given twice");
      }
    }
  }
}
