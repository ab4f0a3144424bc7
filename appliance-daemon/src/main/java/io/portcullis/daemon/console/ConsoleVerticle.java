package io.portcullis.daemon.console;

import io.portcullis.console.AdminClient;
import io.portcullis.console.Interactive;
import io.portcullis.console.Main;
import io.portcullis.daemon.config.ConsoleConfig;
import io.portcullis.daemon.config.HostPort;
import io.portcullis.console.PasswordHash;
import io.portcullis.daemon.logging.Logs;
import io.portcullis.daemon.runtime.Listener;
import io.portcullis.daemon.runtime.ServiceVerticle;
import io.vertx.core.Future;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.time.Duration;
import java.util.List;
import org.apache.sshd.common.config.keys.AuthorizedKeyEntry;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.apache.sshd.server.forward.RejectAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.apache.sshd.server.session.ServerSession;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console over SSH (Apache MINA SSHD): a shell request gets the interactive console (or, without a terminal, runs
 * the lines it is sent as a script), an exec request runs one console command ({@code ssh admin@node 'show status'});
 * nothing else: no system shell, no SCP or SFTP, no forwarding. Users and their keys are read per login, so a commit
 * applies to the next one. The host key is generated once in the data dir.
 */
public final class ConsoleVerticle extends ServiceVerticle<ConsoleSettings> {
  private static final Logger LOG = LoggerFactory.getLogger(ConsoleVerticle.class);
  private static final Logger AUDIT = LoggerFactory.getLogger("portcullis.audit");

  static {
    // SSHD registers BouncyCastle (here for the cluster's certificates, used through the JDK's providers) as a JCA
    // provider when it finds it: thousands of algorithms set up, most of the SSH server's start (a second of a boot
    // under emulation), for nothing the console offers: the JDK has its EC, RSA, AES and X25519, EdDSA its ed25519.
    // Its I/O is named rather than looked up by ServiceLoader. Either can still be set on the command line.
    setIfUnset("org.apache.sshd.security.provider.BC.enabled", "false");
    setIfUnset("org.apache.sshd.common.io.IoServiceFactoryFactory",
        "org.apache.sshd.common.io.nio2.Nio2ServiceFactoryFactory");
  }

  private static void setIfUnset(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  private static final List<org.apache.sshd.server.auth.UserAuthFactory> KEY_ONLY =
      List.of(org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory.INSTANCE);
  private static final List<org.apache.sshd.server.auth.UserAuthFactory> KEY_OR_PASSWORD =
      List.of(org.apache.sshd.server.auth.pubkey.UserAuthPublicKeyFactory.INSTANCE,
          org.apache.sshd.server.auth.password.UserAuthPasswordFactory.INSTANCE);

  public ConsoleVerticle(ConsoleSettings initial) {
    super(initial);
  }

  @Override
  protected HostPort address(ConsoleSettings s) {
    return s.config().ssh().enabled() ? s.config().ssh().listen() : null;
  }

  @Override
  protected Future<Listener> bind(HostPort address, ConsoleSettings s) {
    return vertx.executeBlocking(() -> {
      SshServer server = SshServer.setUpDefaultServer();
      server.setHost(address.host());
      server.setPort(address.port());
      SimpleGeneratorHostKeyProvider keys = new SimpleGeneratorHostKeyProvider(s.dataDir().resolve("ssh_host_key"));
      keys.setAlgorithm(KeyUtils.EC_ALGORITHM);
      keys.setKeySize(256);
      // Made (or read) now rather than in the first login's key exchange, and the owner's alone whatever wrote it.
      keys.loadKeys(null);
      Path hostKey = s.dataDir().resolve("ssh_host_key");
      if (Files.exists(hostKey)) {
        Files.setPosixFilePermissions(hostKey, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
      }
      server.setKeyPairProvider(keys);
      ConsoleConfig.Ssh ssh = s.config().ssh();
      // SSHD lets one request past its maximum before it disconnects: this is the number of failed attempts allowed.
      CoreModuleProperties.MAX_AUTH_REQUESTS.set(server, ssh.maxAuthAttempts() - 1);
      CoreModuleProperties.AUTH_TIMEOUT.set(server, ssh.authTimeout());
      CoreModuleProperties.IDLE_TIMEOUT.set(server, ssh.idleTimeout());
      server.setPasswordAuthenticator(this::password); // refuses all when passwordLogin is off (read per login)
      server.setKeyboardInteractiveAuthenticator(null);
      server.setPublickeyAuthenticator(this::publicKey);
      // The methods offered are read per connection, so that key-only mode does not even offer a password prompt
      // (OpenSSH's PasswordAuthentication no) and a commit applies to the next connection.
      server.addSessionListener(new org.apache.sshd.common.session.SessionListener() {
        @Override
        public void sessionCreated(org.apache.sshd.common.session.Session session) {
          if (session instanceof ServerSession ss) {
            ss.setUserAuthFactories(settings().config().ssh().passwordLogin() ? KEY_OR_PASSWORD : KEY_ONLY);
          }
        }
      });
      server.setForwardingFilter(RejectAllForwardingFilter.INSTANCE);
      server.setAgentFactory(null);
      server.setSubsystemFactories(List.of()); // no SFTP
      server.setShellFactory(channel -> new Session(null));
      server.setCommandFactory((channel, command) -> new Session(command));
      server.start();
      LOG.info("console: SSH on {} (password logins {})", address, ssh.passwordLogin() ? "on" : "off");
      if (ssh.passwordLogin()) {
        // One check in the background, after the listener is up, so that the JIT has compiled PBKDF2 before the
        // first login: cold, under emulation (the ISO in TCG), a first password login took 45 s, past authTimeout.
        vertx.executeBlocking(() -> PasswordHash.check("warm-up".toCharArray(), DUMMY), false);
      }
      return (Listener) new Listener() {
        public int port() {
          return server.getPort();
        }

        public Future<Void> shutdown(Duration grace) {
          return vertx.executeBlocking(() -> {
            server.stop(grace.isZero());
            return null;
          });
        }
      };
    });
  }

  private ConsoleConfig.ConsoleUser user(String name) {
    for (ConsoleConfig.ConsoleUser u : settings().config().users()) {
      if (u.name().equals(name)) {
        return u;
      }
    }
    return null;
  }

  private static String address(ServerSession session) {
    return session.getClientAddress() instanceof java.net.InetSocketAddress a && a.getAddress() != null
        ? a.getAddress().getHostAddress() : String.valueOf(session.getClientAddress());
  }

  /** True (and audited) when {@code from} is locked out: no password or key is even checked. */
  private boolean lockedOut(String name, String from) {
    long left = settings().logins().lockedFor(from);
    if (left > 0) {
      AUDIT.warn("user={} source={} ssh login refused: the address is locked out for {} s more", Logs.escape(name),
          from, left);
      return true;
    }
    return false;
  }

  private boolean password(String name, String password, ServerSession session) {
    String from = address(session);
    if (!settings().config().ssh().passwordLogin()) {
      AUDIT.warn("user={} source={} ssh password refused: key-only mode", Logs.escape(name), from);
      return false;
    }
    if (lockedOut(name, from)) {
      return false;
    }
    ConsoleConfig.ConsoleUser u = user(name);
    // No such user and no hash are checked as long as a real one, so that timing tells nothing.
    boolean ok = u != null && u.passwordHash() != null
        ? PasswordHash.check(password.toCharArray(), u.passwordHash())
        : PasswordHash.check(password.toCharArray(), DUMMY) && false;
    if (ok) {
      return true;
    }
    AUDIT.warn("user={} source={} ssh password refused", Logs.escape(name), from);
    io.portcullis.daemon.config.Lockout rule = settings().config().ssh().lockout();
    if (settings().logins().failed(from, rule)) {
      AUDIT.warn("source={} locked out of the SSH console for {} after {} failed logins", from, rule.duration(),
          rule.maxFailures());
    }
    return false;
  }

  // The hash an unknown user's password is checked against (never matches: the result is dropped), with today's
  // iteration count, so that it costs as long as a real user's. A fixed salt and hash rather than one made at start:
  // making it ran 210 000 PBKDF2 rounds in the daemon's start, seconds of a boot under emulation.
  static final String DUMMY = "$pbkdf2-sha256$" + PasswordHash.ITERATIONS
      + "$eR1oFIObXyeqrYb1xBQyYg$5q36EbzutiCA7gJazedIKrC0QTIDhQLv4G4FZo9wcHo";

  private boolean publicKey(String name, PublicKey key, ServerSession session) {
    ConsoleConfig.ConsoleUser u = user(name);
    if (u == null || lockedOut(name, address(session))) {
      return false;
    }
    for (String line : u.authorizedKeys()) {
      try {
        PublicKey allowed = AuthorizedKeyEntry.parseAuthorizedKeyEntry(line.strip()).resolvePublicKey(null, null);
        if (KeyUtils.compareKeys(allowed, key)) {
          return true;
        }
      } catch (Exception e) {
        LOG.warn("console user {}: an authorized key cannot be read: {}", name, e.toString());
      }
    }
    return false;
  }

  /** One shell or exec request: the console, never a system shell. */
  private final class Session implements Command {
    private final String command;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;
    private Thread thread;

    Session(String command) {
      this.command = command;
    }

    public void setInputStream(InputStream in) {
      this.in = in;
    }

    public void setOutputStream(OutputStream out) {
      this.out = out;
    }

    public void setErrorStream(OutputStream err) {
      this.err = err;
    }

    public void setExitCallback(ExitCallback callback) {
      this.exit = callback;
    }

    public void start(ChannelSession channel, Environment env) {
      ServerSession session = channel.getServerSession();
      String user = session.getUsername();
      String source = String.valueOf(session.getClientAddress()).replaceFirst("^/", "");
      ConsoleSettings s = settings();
      ConsoleConfig.ConsoleUser u = user(user);
      // The session's own token: it can do what the user's role allows, and nothing once the session ends.
      String token = s.tokens().open(user, u == null ? ConsoleConfig.ConsoleUser.Role.READ_ONLY : u.role(), source);
      AdminClient client;
      try {
        client = new AdminClient(s.admin(), token, user, source,
            s.adminCertificate() == null ? null : AdminClient.trusting(s.adminCertificate()));
      } catch (java.io.IOException | java.security.GeneralSecurityException e) {
        LOG.error("console session of {}: cannot trust the admin API's certificate: {}", user, e.toString());
        s.tokens().close(token);
        exit.onExit(1, "the admin API's certificate cannot be read");
        return;
      }
      AUDIT.info("user={} source={} ssh {} (role {})", user, source, command == null ? "shell"
          : "exec: " + Logs.escape(withoutContent(command)), u == null ? "none" : u.role().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
      thread = new Thread(() -> {
        int code = 1;
        try {
          code = run(client, env, user);
        } catch (Exception e) {
          LOG.warn("console session of {} from {} failed: {}", user, source, e.toString());
        } finally {
          try {
            out.flush();
          } catch (java.io.IOException e) {
            // the client went away
          }
          s.tokens().close(token);
          exit.onExit(code);
        }
      }, "console-" + user);
      thread.setDaemon(true);
      thread.start();
    }

    private int run(AdminClient client, Environment env, String user) throws Exception {
      PrintStream o = new PrintStream(new CrLf(out), true, StandardCharsets.UTF_8);
      PrintStream e = new PrintStream(new CrLf(err), true, StandardCharsets.UTF_8);
      if (command != null) {
        return new Main(o, e).remote(true).lines(client, List.of(command));
      }
      String term = env.getEnv().get(Environment.ENV_TERM);
      if (term == null) {
        // No terminal (ssh -T < script): the lines sent are a script, as on a local stdin.
        List<String> lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList();
        return new Main(o, e).remote(true).lines(client, lines);
      }
      try (Terminal t = TerminalBuilder.builder().system(false).streams(in, out).type(term)
          .encoding(StandardCharsets.UTF_8).size(new Size(cols(env), rows(env))).build()) {
        env.addSignalListener((channel, signal) -> t.setSize(new Size(cols(env), rows(env))),
            org.apache.sshd.server.Signal.WINCH);
        return new Interactive(client, t, null, user, true).run();
      }
    }

    private int cols(Environment env) {
      return number(env.getEnv().get(Environment.ENV_COLUMNS), 80);
    }

    private int rows(Environment env) {
      return number(env.getEnv().get(Environment.ENV_LINES), 24);
    }

    private int number(String s, int dflt) {
      try {
        return s == null ? dflt : Integer.parseInt(s);
      } catch (NumberFormatException x) {
        return dflt;
      }
    }

    public void destroy(ChannelSession channel) {
      if (thread != null) {
        thread.interrupt();
      }
    }
  }

  /** Turns \n into \r\n: without a terminal, the SSH client's own terminal is raw. */
  private static final class CrLf extends java.io.FilterOutputStream {
    private int last = -1;

    CrLf(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws java.io.IOException {
      if (b == '\n' && last != '\r') {
        out.write('\r');
      }
      out.write(b);
      last = b;
    }
  }

  /** {@code command} as the audit shows it: a file import's content (a keytab, a key) left out, its name kept. */
  static String withoutContent(String command) {
    String[] w = command.strip().split("\\s+", 4);
    if (w.length >= 3 && w[0].equals("file") && w[1].equals("import")) {
      return "file import " + w[2] + (w.length > 3 ? " (" + w[3].length() + " characters of content left out)" : "");
    }
    return command;
  }
}
