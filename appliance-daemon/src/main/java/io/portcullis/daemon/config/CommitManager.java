package io.portcullis.daemon.config;

import com.github.difflib.DiffUtils;
import com.github.difflib.UnifiedDiffUtils;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Junos-style commit model: a candidate is edited, {@code commit} validates it, applies it to the running daemon
 * and writes it as a new revision; {@code rollback N} makes revision N the candidate; {@code commit confirmed} reverts
 * by itself unless confirmed in time. Commits run one at a time. The confirm timer lives here, in the daemon, and its
 * deadline is kept on disk, so neither a dropped console nor a restart loses it. What is written, in which order, and
 * what a start after a crash runs: {@link CommitStore}.
 */
public final class CommitManager implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CommitManager.class);

  /** Puts a validated config into effect; completes exceptionally, with the reason, if it could not (old config kept). */
  public interface Applier {
    CompletableFuture<Void> apply(Config next);
  }

  /** Where the commit under way is (for the console's progress bar): its phase, a count when it has one. */
  public record Progress(boolean running, String phase, int done, int total, long startedMillis) {
  }

  private volatile Progress progress = new Progress(false, "idle", 0, 0, 0);
  private final List<String> steps = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The commit under way, or the last one's end ({@code running} false). */
  public Progress progress() {
    return progress;
  }

  /** The steps the last (or current) commit reported, in order. */
  public List<String> steps() {
    return List.copyOf(steps);
  }

  /** Reports a step of the commit under way (called by the applier as it goes). */
  public void progress(String phase, int done, int total) {
    Progress p = progress;
    if (p.running()) {
      progress = new Progress(true, phase, done, total, p.startedMillis());
      steps.add(total > 0 ? phase + " " + done + "/" + total : phase);
    }
  }

  /** The config in effect: its revision, its exact text, and what it means. */
  public record Active(int revision, String text, Config config) {
  }

  /** A commit confirmed awaiting {@code confirm}: if none comes by {@code deadline}, {@code previous} comes back. */
  public record PendingConfirm(int revision, int previous, Instant deadline) {
  }

  /** A commit that was refused: the candidate is invalid ({@link #problems}) or could not be applied. */
  /** A session's candidate started from a revision no longer in effect. */
  public static final class StaleException extends RuntimeException {
    private final int base;
    private final int active;

    public StaleException(int base, int active) {
      super("the config changed since this session started from revision " + base + " (revision " + active
          + " is in effect now); review what changed, then update and commit again");
      this.base = base;
      this.active = active;
    }

    public int base() {
      return base;
    }

    public int active() {
      return active;
    }
  }

  public static final class CommitException extends RuntimeException {
    private final transient List<Problem> problems;
    private final boolean notSaved;

    public CommitException(String message, List<Problem> problems) {
      this(message, problems, false);
    }

    /** {@code notSaved}: refused because the disk could not record it (full, failing), not for what it says. */
    public CommitException(String message, List<Problem> problems, boolean notSaved) {
      super(message);
      this.problems = List.copyOf(problems);
      this.notSaved = notSaved;
    }

    public List<Problem> problems() {
      return problems;
    }

    /** True when the commit was refused because it could not be written to disk. */
    public boolean notSaved() {
      return notSaved;
    }
  }

  private final RevisionStore store;
  private final CommitStore disk;
  private final Applier applier;
  private volatile ConfigFiles files;
  private final ScheduledExecutorService timer;
  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);
  private Active active;
  private String candidate;
  private PendingConfirm pending;
  private ScheduledFuture<?> pendingTimer;
  private boolean reverting;

  /**
   * Opens the commit model on a config that is already running (at start, {@link CommitStore#startText} chose it): it
   * becomes a new revision unless the newest revision holds the same text. {@code configFile}, if not null, is
   * rewritten on every commit so that a restart runs it.
   */
  public CommitManager(RevisionStore store, Applier applier, Path configFile, String runningText, Config running,
      String source) throws IOException {
    this.store = store;
    this.disk = new CommitStore(store, configFile);
    this.applier = applier;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "portcullis-commit-timer");
      t.setDaemon(true);
      return t;
    });
    Optional<Revision> latest = store.latest();
    Revision rev;
    if (latest.isPresent() && store.text(latest.get().number()).orElse("").equals(runningText)) {
      rev = latest.get();
    } else {
      rev = disk.record(runningText, "startup", "loaded from " + source, -1, null, null).revision();
      LOG.info("config revision {} recorded at start (loaded from {})", rev.number(), source);
    }
    this.active = new Active(rev.number(), runningText, running);
    disk.alignFile(runningText, rev.number());
    resumePending();
  }

  /** The config in effect. */
  public synchronized Active active() {
    return active;
  }

  /** The candidate's text: what was edited since the last commit, or the active text if nothing was. */
  public synchronized String candidate() {
    return candidate == null ? active.text() : candidate;
  }

  /** True when the candidate differs from the active config. */
  public synchronized boolean candidateChanged() {
    return candidate != null && !candidate.equals(active.text());
  }

  /** Replaces the candidate; returns its problems (an invalid candidate is kept, as on Junos, but cannot be committed). */
  public synchronized List<Problem> setCandidate(String text) {
    candidate = text;
    return check();
  }

  /** Drops the candidate's changes. */
  public synchronized void discard() {
    candidate = null;
  }

  /** {@code commit check}: the candidate's problems, empty if it would commit. */
  public synchronized List<Problem> check() {
    return problems(candidate());
  }

  /** Where the files a config names may be; every later check and commit refuses files elsewhere. */
  public void files(ConfigFiles f) {
    files = f;
  }

  /** Parses and validates {@code text} as a commit would, the files it names included. */
  public Config parse(String text) throws ConfigException {
    Config c = ConfigLoader.parse(text);
    ConfigFiles f = files;
    return f == null ? c : f.checked(c);
  }

  /** What {@link #parse} finds wrong with {@code text}; empty if it would commit. */
  public List<Problem> problems(String text) {
    try {
      parse(text);
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  /** The pending commit confirmed, if any. */
  public synchronized Optional<PendingConfirm> pending() {
    return Optional.ofNullable(pending);
  }

  /** Every revision kept, oldest first. */
  public List<Revision> revisions() throws IOException {
    return store.list();
  }

  /** The text of revision {@code n}. */
  public Optional<String> revisionText(int n) throws IOException {
    return store.text(n);
  }

  /** {@code rollback N}: revision N becomes the candidate (commit puts it into effect). */
  public synchronized void rollback(int n) throws IOException {
    candidate = store.text(n).orElseThrow(() -> new IllegalArgumentException("revision " + n + " is not kept"
        + " (kept: the newest " + RevisionStore.KEEP + ")"));
  }

  /** {@code compare}: a unified diff from revision {@code n} (the active one if null) to the candidate. */
  public String compare(Integer n) throws IOException {
    String from;
    String fromName;
    synchronized (this) {
      int base = n == null ? active.revision() : n;
      from = n == null ? active.text() : store.text(n).orElseThrow(
          () -> new IllegalArgumentException("revision " + base + " is not kept"));
      fromName = "revision " + base + (base == active.revision() ? " (active)" : "");
    }
    return diff(from, fromName, candidate(), "candidate");
  }

  /** A unified diff of two config texts for a person to read (secrets redacted), empty when they are equal. */
  public static String diff(String from, String fromName, String to, String toName) {
    String[] shown = Redact.pair(from, to);
    List<String> a = shown[0].lines().toList();
    List<String> b = shown[1].lines().toList();
    List<String> lines = UnifiedDiffUtils.generateUnifiedDiff(fromName, toName, a, DiffUtils.diff(a, b), 3);
    return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
  }

  /**
   * {@code commit}: validates the candidate, applies it, writes it as a new revision (and the config file). With
   * {@code confirmWithin}, the previous revision comes back unless {@link #confirm()} is called in time. A plain commit
   * also confirms a pending commit confirmed, as on Junos.
   */
  public CompletableFuture<Revision> commit(String author, String message, Duration confirmWithin) {
    return commitText(null, -1, author, message, confirmWithin, false);
  }

  /** As {@link #commit(String, String, Duration)}; {@code force} passes the {@link Guard}. */
  public CompletableFuture<Revision> commit(String author, String message, Duration confirmWithin, boolean force) {
    return commitText(null, -1, author, message, confirmWithin, force);
  }

  /**
   * Says whether a commit from this node's own console or API may change {@code from} into {@code to}: a cluster node
   * refuses changes its control node owns unless forced. Throws a {@link CommitException} saying why not.
   */
  public interface Guard {
    void check(String from, String to, boolean force);
  }

  /** After a commit is in effect here, waits for what else must take it (a control node's nodes); may report progress. */
  public interface Follower {
    CompletableFuture<Void> follow(Revision rev);
  }

  private volatile Guard guard = (from, to, force) -> { };
  private volatile Follower follower = rev -> CompletableFuture.completedFuture(null);
  private final List<java.util.function.BiConsumer<Active, Revision>> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public void guard(Guard g) {
    guard = g;
  }

  public void follower(Follower f) {
    follower = f;
  }

  /** Calls {@code l} with each config put into effect from now on and its revision (on the commit thread). */
  public void onActive(java.util.function.BiConsumer<Active, Revision> l) {
    listeners.add(l);
  }

  /**
   * Runs {@code step} in the commit queue, after what is queued and before what comes: a change that is no config
   * (the inspection CA's rotation) stays in order with commits.
   */
  public <T> CompletableFuture<T> inQueue(Supplier<CompletableFuture<T>> step) {
    return serial(step);
  }

  /**
   * Puts into effect what the control node sent, {@code merge} turning the text in effect (read in the commit queue,
   * so a local commit just before is not undone) into the next: no guard, no stale check, no waiting for nodes.
   */
  public CompletableFuture<Revision> commitFromControl(java.util.function.UnaryOperator<String> merge,
      String message) {
    return serial(() -> {
      String text;
      try {
        text = merge.apply(active().text());
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(new CommitException("cannot merge: " + e.getMessage(), List.of()));
      }
      return commitStep(text, false, -1, "cluster", message, null, true);
    });
  }

  /**
   * As {@link #commit}, with {@code text} (a console session's own candidate) instead of the shared candidate,
   * refused with a {@link StaleException} unless revision {@code base} (what the session started from) is still in
   * effect: what changed meanwhile would otherwise be silently undone.
   */
  public CompletableFuture<Revision> commitText(String sessionText, int base, String author, String message,
      Duration confirmWithin) {
    return commitText(sessionText, base, author, message, confirmWithin, false);
  }

  /** As {@link #commitText(String, int, String, String, Duration)}; {@code force} passes the {@link Guard}. */
  public CompletableFuture<Revision> commitText(String sessionText, int base, String author, String message,
      Duration confirmWithin, boolean force) {
    return commitText(sessionText, base, author, message, confirmWithin, force, (from, to) -> null);
  }

  /** Why a caller may not commit {@code to} in place of {@code from} (its role); null if it may. */
  public interface Permission {
    String refusal(String from, String to);
  }

  /** A commit the caller's role does not allow; nothing was changed. */
  public static final class RefusedException extends RuntimeException {
    public RefusedException(String message) {
      super(message);
    }
  }

  /**
   * As above; {@code permission} is asked, in the commit queue, about exactly the text that would be committed, so
   * that no edit between the asking and the commit slips past it.
   */
  public CompletableFuture<Revision> commitText(String sessionText, int base, String author, String message,
      Duration confirmWithin, boolean force, Permission permission) {
    return serial(() -> {
      steps.clear();
      progress = new Progress(true, "checking the candidate", 0, 0, System.currentTimeMillis());
      steps.add("checking the candidate");
      String from = active().text();
      String to = sessionText != null ? sessionText : candidate();
      try {
        guard.check(from, to, force);
        String refusal = permission.refusal(from, to);
        if (refusal != null) {
          throw new RefusedException(refusal);
        }
      } catch (CommitException | RefusedException e) {
        progress = new Progress(false, "failed", 0, 0, progress.startedMillis());
        return CompletableFuture.failedFuture(e);
      }
      return commitStep(to, sessionText == null, base, author, message, confirmWithin, false)
          // A follower bounded by its own wait, and by this in case it is not: the commit queue must move on.
          .thenCompose(rev -> follower.follow(rev).orTimeout(120, TimeUnit.SECONDS).handle((x, e) -> rev))
          .whenComplete((r, e) ->
          progress = new Progress(false, e == null ? "done" : "failed", 0, 0, progress.startedMillis()));
    });
  }

  /** Commits {@code text}; {@code shared}: it is the shared candidate, cleared once committed (unless edited since). */
  private CompletableFuture<Revision> commitStep(String text, boolean shared, int base, String author,
      String message, Duration confirmWithin, boolean fromControl) {
    Active before;
    synchronized (this) {
      before = active;
    }
    if (!shared && base >= 0 && base != before.revision()) {
      return CompletableFuture.failedFuture(new StaleException(base, before.revision()));
    }
    if (text.equals(before.text()) && confirmWithin == null) {
      synchronized (this) {
        if (shared && Objects.equals(candidate, text)) {
          candidate = null;
        }
        if (pending != null && !fromControl) {
          clearPending("confirmed by commit", true);
        }
      }
      return CompletableFuture.completedFuture(currentRevision(before.revision()));
    }
    Config next;
    try {
      next = parse(text);
    } catch (ConfigException e) {
      return CompletableFuture.failedFuture(new CommitException("candidate is invalid", e.problems()));
    }
    Instant confirmBy = confirmWithin == null ? null : Instant.now().plus(confirmWithin);
    return applyAndRecord(before, text, next, author, message, confirmBy).thenApply(rec -> {
      synchronized (this) {
        if (shared && Objects.equals(candidate, text)) {
          candidate = null;
        }
        if (pending != null && !fromControl) {
          // Superseded on disk by the new revision (a start drops a pending file naming another revision).
          clearPending("confirmed by commit", rec.pending() == null);
        }
        if (rec.pending() != null) {
          startPending(rec.pending());
        }
      }
      return rec.revision();
    });
  }

  /** {@code confirm}: keeps a commit confirmed; fails if none is pending. */
  public synchronized Revision confirm() {
    if (pending == null) {
      throw new IllegalStateException("no commit confirmed is pending");
    }
    if (reverting) {
      throw new IllegalStateException("too late: revision " + pending.revision() + " is being reverted");
    }
    int rev = pending.revision();
    try {
      disk.deletePending(); // first: a confirm answered but lost to a power cut would revert a kept commit
    } catch (IOException e) {
      throw new IllegalStateException("could not record the confirmation (" + e.getMessage() + "); revision " + rev
          + " still reverts at " + pending.deadline() + " unless confirmed");
    }
    clearPending("confirmed", false);
    return currentRevision(rev);
  }

  /** Applies {@code next}, then records it (with a pending confirm until {@code confirmBy} unless null). */
  private CompletableFuture<CommitStore.Recorded> applyAndRecord(Active before, String text, Config next,
      String author, String message, Instant confirmBy) {
    return applier.apply(next).handleAsync((ok, err) -> {
      if (err != null) {
        Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
        LOG.warn("commit by {} not applied, revision {} stays in effect: {}", io.portcullis.daemon.logging.Logs.escape(author), before.revision(),
            cause.getMessage());
        throw new CommitException("could not apply: " + cause.getMessage() + " (revision " + before.revision()
            + " stays in effect)", List.of());
      }
      progress("recording the revision", 0, 0);
      CommitStore.Recorded rec;
      PendingConfirm pendingBefore;
      synchronized (this) {
        pendingBefore = pending;
      }
      try {
        rec = disk.record(text, author, message, before.revision(), confirmBy, pendingBefore);
      } catch (IOException | RuntimeException e) {
        LOG.error("commit by {} applied but not recorded; putting revision {} back: {}",
            io.portcullis.daemon.logging.Logs.escape(author), before.revision(), e.getMessage());
        try {
          applier.apply(before.config()).get(2, TimeUnit.MINUTES);
        } catch (Exception undo) {
          LOG.error("revision {} could not be put back in effect", before.revision(), undo);
        }
        throw new CommitException("not saved: " + e.getMessage() + " (revision " + before.revision()
            + " stays in effect)", List.of(), e instanceof IOException);
      }
      Revision rev = rec.revision();
      Active now = new Active(rev.number(), text, next);
      synchronized (this) {
        active = now;
      }
      for (var l : listeners) {
        try {
          l.accept(now, rev);
        } catch (RuntimeException e) {
          LOG.warn("a config listener failed", e);
        }
      }
      LOG.info("commit: revision {} by {} in effect ({})", rev.number(), io.portcullis.daemon.logging.Logs.escape(author),
          io.portcullis.daemon.logging.Logs.escape(rev.message()));
      return rec;
    }, timer); // file writes and fsync stay off the event loop
  }

  private Revision currentRevision(int n) {
    try {
      return store.list().stream().filter(r -> r.number() == n).findFirst()
          .orElse(new Revision(n, Instant.now(), "unknown", ""));
    } catch (IOException e) {
      return new Revision(n, Instant.now(), "unknown", "");
    }
  }

  private synchronized <T> CompletableFuture<T> serial(Supplier<CompletableFuture<T>> step) {
    // On the commit thread, never the caller's: parsing and compiling a large config (category lists) must not hold
    // the admin API's event loop, which also answers progress and health while a commit runs.
    CompletableFuture<T> result = tail.handleAsync((x, e) -> null, timer).thenCompose(x -> step.get());
    tail = result;
    return result;
  }

  /** Arms the confirm timer of {@code p}, whose pending file is on disk already. */
  private void startPending(PendingConfirm p) {
    pending = p;
    long delay = Math.max(0, Duration.between(Instant.now(), p.deadline()).toMillis());
    pendingTimer = timer.schedule(() -> revert(p), delay, TimeUnit.MILLISECONDS);
    LOG.info("commit confirmed: revision {} reverts to {} at {} unless confirmed", p.revision(), p.previous(),
        p.deadline());
  }

  /** Ends the pending state; {@code deleteFile}: its file too (it is stale anyway once a newer revision exists). */
  private void clearPending(String why, boolean deleteFile) {
    if (pendingTimer != null) {
      pendingTimer.cancel(false);
      pendingTimer = null;
    }
    LOG.info("commit confirmed: revision {} {}", pending.revision(), why);
    pending = null;
    if (deleteFile) {
      try {
        disk.deletePending();
      } catch (IOException e) {
        LOG.warn("could not delete the commit confirmed file: {}", e.toString());
      }
    }
  }

  /** At start: a pending confirm of the revision that runs comes back; any other is left from an older commit. */
  private void resumePending() throws IOException {
    Optional<PendingConfirm> p = disk.readPending();
    if (p.isPresent() && p.get().revision() == active.revision()) {
      startPending(p.get());
    } else if (p.isPresent()) {
      disk.deletePending();
    }
  }

  /** The confirm timer ran out: the previous revision comes back as a new revision. */
  private void revert(PendingConfirm p) {
    serial(() -> {
      synchronized (this) {
        if (pending == null || !pending.equals(p)) {
          return CompletableFuture.completedFuture(null); // confirmed meanwhile
        }
        reverting = true; // from here a confirm is too late: it would race the revert
      }
      String text;
      Config previous;
      try {
        text = store.text(p.previous()).orElseThrow(() -> new IOException("revision " + p.previous() + " is gone"));
        previous = parse(text); // its files may have changed on disk since it was committed
      } catch (IOException | ConfigException e) {
        LOG.error("commit confirmed: cannot revert revision {} to {}", p.revision(), p.previous(), e);
        synchronized (this) {
          reverting = false;
        }
        return CompletableFuture.completedFuture(null);
      }
      Active before;
      synchronized (this) {
        before = active;
      }
      return applyAndRecord(before, text, previous, "system", "rollback to revision " + p.previous()
          + ": commit confirmed of revision " + p.revision() + " was not confirmed in time", null)
          .handle((rec, err) -> {
            synchronized (this) {
              reverting = false;
              if (pending == null || !pending.equals(p)) {
                return null; // a commit ended the pending state meanwhile
              }
              if (err == null) {
                clearPending("not confirmed in time: reverted to revision " + p.previous() + " as revision "
                    + rec.revision().number(), true);
              } else {
                LOG.error("commit confirmed: revert of revision {} failed; retrying in 10s", p.revision(), err);
                pendingTimer = timer.schedule(() -> revert(p), 10, TimeUnit.SECONDS);
              }
            }
            return null;
          });
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
