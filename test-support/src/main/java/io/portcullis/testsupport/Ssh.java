package io.portcullis.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.testsupport.Host.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The real OpenSSH client (and sshpass for passwords) against an SSH console on 127.0.0.1:{@code port}: host keys
 * neither checked nor kept, errors only, 10 s to connect. The methods give command lines; a test adds the user and
 * the console command, and runs them.
 */
public record Ssh(int port) {
  /** {@code ssh} with the options every test gives, then {@code extra}; fails the test if ssh is not installed. */
  public List<String> args(String... extra) {
    Peers.require("ssh", "openssh-client");
    List<String> a = new ArrayList<>(List.of("ssh", "-p", Integer.toString(port), "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"));
    a.addAll(List.of(extra));
    return a;
  }

  /** A login with the private key {@code key} alone, never a prompt; then {@code extra}. */
  public List<String> withKey(Path key, String... extra) {
    List<String> a = args("-i", key.toString(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes");
    a.addAll(List.of(extra));
    return a;
  }

  /** A login with {@code password} alone, typed by sshpass; then {@code extra}. */
  public List<String> withPassword(String password, String... extra) {
    Peers.require("sshpass", "sshpass");
    List<String> a = new ArrayList<>(List.of("sshpass", "-p", password));
    a.addAll(args("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password"));
    a.addAll(List.of(extra));
    return a;
  }

  /** Runs {@code command} (from the methods above) in {@code dir}. */
  public static Run run(Path dir, List<String> command) throws Exception {
    return Host.runIn(dir, command.toArray(String[]::new));
  }

  /** Runs {@code command} with {@code script} as its stdin: a console script over a session without a terminal. */
  public static Run script(Path script, List<String> command) throws Exception {
    return Host.runWithInput(script, command.toArray(String[]::new));
  }

  /** The public half of {@code key} (its .pub file), one line, as an authorizedKeys entry takes it. */
  public static String publicKey(Path key) throws IOException {
    return Files.readString(key.resolveSibling(key.getFileName() + ".pub")).strip();
  }

  /** A new ed25519 key pair without a passphrase, {@code dir}/id_ed25519(.pub); the private key's path. */
  public static Path keygen(Path dir) throws Exception {
    Path key = dir.resolve("id_ed25519");
    Run gen = Host.runIn(dir, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test@portcullis", "-f",
        key.toString());
    assertEquals(0, gen.exit(), gen.output());
    return key;
  }
}
