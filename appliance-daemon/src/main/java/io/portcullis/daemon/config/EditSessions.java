package io.portcullis.daemon.config;

import io.portcullis.daemon.logging.Logs;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console's configuration sessions: each has its own candidate, started from the revision in effect, edited with
 * {@link ConfigEditor}, committed only while that revision is still in effect (else refused with what changed
 * meanwhile). Every change is audited on {@code portcullis.audit} with user, source address and revision.
 */
public final class EditSessions {
  private static final Logger AUDIT = LoggerFactory.getLogger("portcullis.audit");
  private static final int MAX = 64;
  private static final Duration IDLE = Duration.ofHours(12);

  private final CommitManager commits;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();

  /** One session: who, from where, the revision it started from, its candidate. */
  public static final class Session {
    private final String id;
    private final String user;
    private final String source;
    private int base;
    private String baseText;
    private String candidate;
    private Instant used = Instant.now();

    Session(String id, String user, String source, int base, String baseText) {
      this.id = id;
      this.user = user;
      this.source = source;
      this.base = base;
      this.baseText = baseText;
      this.candidate = baseText;
    }

    public String id() {
      return id;
    }

    /** Who opened the session (the console user). */
    public String user() {
      return user;
    }

    public synchronized int base() {
      return base;
    }

    public synchronized String candidate() {
      return candidate;
    }

    public synchronized boolean changed() {
      return !candidate.equals(baseText);
    }
  }

  /** No session by that id (closed, expired, or the daemon restarted). */
  public static final class NoSuchSession extends RuntimeException {
    public NoSuchSession(String id) {
      super("no configuration session " + id + " (closed, expired or the daemon restarted): start configure again");
    }
  }

  public EditSessions(CommitManager commits) {
    this.commits = commits;
  }

  /** Opens a session on the revision in effect. */
  public Session open(String user, String source) {
    Instant now = Instant.now();
    sessions.values().removeIf(s -> s.used.plus(IDLE).isBefore(now));
    if (sessions.size() >= MAX) {
      throw new IllegalStateException(MAX + " configuration sessions are open; close one first");
    }
    CommitManager.Active a = commits.active();
    Session s = new Session(HexFormat.of().formatHex(bytes()), user,
        source, a.revision(), a.text());
    sessions.put(s.id, s);
    AUDIT.info("user={} source={} session={} configure (revision {})", user, source, s.id, a.revision());
    return s;
  }

  private byte[] bytes() {
    byte[] b = new byte[16];
    random.nextBytes(b);
    return b;
  }

  /** The session {@code id}, or null; does not count as a use. */
  public Session peek(String id) {
    return sessions.get(id);
  }

  public Session get(String id) {
    Session s = id == null ? null : sessions.get(id);
    if (s == null) {
      throw new NoSuchSession(id);
    }
    s.used = Instant.now();
    return s;
  }

  public void close(String id) {
    Session s = sessions.remove(id);
    if (s != null) {
      AUDIT.info("user={} source={} session={} exit{}", s.user, s.source, s.id,
          s.changed() ? " (uncommitted changes dropped)" : "");
    }
  }

  /** {@code set}/{@code delete} on the session's candidate; returns the problems the candidate has now (may be none). */
  public List<Problem> edit(String id, boolean set, List<String> words) {
    Session s = get(id);
    synchronized (s) {
      s.candidate = set ? ConfigEditor.set(s.candidate, words) : ConfigEditor.delete(s.candidate, words);
      AUDIT.info("user={} source={} session={} {} {}", s.user, s.source, s.id, set ? "set" : "delete",
          Logs.escape(String.join(" ", Redact.words(words).stream().map(ConfigEditor::quote).toList())));
      return problems(s.candidate);
    }
  }

  /** {@code insert}: moves a named item before or after another. */
  public List<Problem> insert(String id, List<String> list, String item, boolean before, String ref) {
    Session s = get(id);
    synchronized (s) {
      s.candidate = ConfigEditor.insert(s.candidate, list, item, before, ref);
      AUDIT.info("user={} source={} session={} insert {} {} {} {}", s.user, s.source, s.id,
          Logs.escape(String.join(" ", list)), Logs.escape(item), before ? "before" : "after", Logs.escape(ref));
      return problems(s.candidate);
    }
  }

  /** The diff of the session's changes: from the revision it started from to its candidate. */
  public String compare(String id) {
    Session s = get(id);
    synchronized (s) {
      return CommitManager.diff(ConfigEditor.normalize(s.baseText), "revision " + s.base,
          ConfigEditor.normalize(s.candidate), "candidate");
    }
  }

  /** The candidate's problems (empty: it would commit). */
  public List<Problem> check(String id) {
    return problems(get(id).candidate());
  }

  /** {@code rollback N}: revision N becomes the candidate. */
  public void rollback(String id, int revision) throws IOException {
    Session s = get(id);
    String text = commits.revisionText(revision)
        .orElseThrow(() -> new IllegalArgumentException("revision " + revision + " is not kept"));
    synchronized (s) {
      s.candidate = text;
    }
    AUDIT.info("user={} source={} session={} rollback {}", s.user, s.source, s.id, revision);
  }

  /** {@code discard}: the candidate is the revision in effect again, and the session starts from it. */
  public void discard(String id) {
    Session s = get(id);
    CommitManager.Active a = commits.active();
    synchronized (s) {
      s.base = a.revision();
      s.baseText = a.text();
      s.candidate = a.text();
    }
  }

  /** What changed since the session started (empty when its revision is still in effect). */
  public String changedMeanwhile(String id) {
    Session s = get(id);
    CommitManager.Active a = commits.active();
    synchronized (s) {
      return a.revision() == s.base ? "" : CommitManager.diff(ConfigEditor.normalize(s.baseText),
          "revision " + s.base, ConfigEditor.normalize(a.text()), "revision " + a.revision() + " (in effect)");
    }
  }

  /** Commits the session's candidate (refused with {@link CommitManager.StaleException} if its revision changed). */
  public CompletableFuture<Revision> commit(String id, String message, Duration confirm) {
    return commit(id, message, confirm, false);
  }

  /** As {@link #commit(String, String, Duration)}; {@code force} commits what a cluster node would refuse. */
  public CompletableFuture<Revision> commit(String id, String message, Duration confirm, boolean force) {
    return commit(id, message, confirm, force, (from, to) -> null);
  }

  /** As above; {@code permission} decides, in the commit queue, whether the caller may commit the session's text. */
  public CompletableFuture<Revision> commit(String id, String message, Duration confirm, boolean force,
      CommitManager.Permission permission) {
    Session s = get(id);
    String text;
    int base;
    synchronized (s) {
      text = s.candidate;
      base = s.base;
    }
    return commits.commitText(text, base, s.user, message, confirm, force, permission).thenApply(rev -> {
      synchronized (s) {
        s.base = rev.number();
        s.baseText = text;
      }
      AUDIT.info("user={} source={} session={} commit{} -> revision {}", s.user, s.source, s.id,
          confirm == null ? "" : " confirmed " + confirm.toMinutes() + "m", rev.number());
      return rev;
    });
  }

  private List<Problem> problems(String text) {
    return commits.problems(text);
  }
}
