package io.portcullis.daemon.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.portcullis.testsupport.Host;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The real openssl, as the peer that judges what we make and as the maker of the admins' CAs and origins' certificates. */
final class Openssl {
  private Openssl() {
  }

  /** Runs {@code openssl args} in {@code dir}; fails the test unless it exits 0; returns its output. */
  static String run(Path dir, String... args) throws Exception {
    Host.Run r = status(dir, args);
    assertEquals(0, r.exit(), "openssl " + String.join(" ", args) + ":\n" + r.output());
    return r.output();
  }

  /** Runs {@code openssl args} in {@code dir}, whatever its exit. */
  static Host.Run status(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    return Host.runIn(dir, cmd.toArray(String[]::new));
  }

  /**
   * A self-signed CA as an admin makes one: {@code name}.crt and {@code name}.key in {@code dir}, the key made by
   * {@code keygen} (openssl arguments writing {@code name}.key), with {@code extensions} ({@code -addext} values).
   */
  static void selfSigned(Path dir, String name, int days, List<String> keygen, String subject, String... extensions)
      throws Exception {
    run(dir, keygen.toArray(String[]::new));
    List<String> args = new ArrayList<>(List.of("req", "-x509", "-key", name + ".key", "-out", name + ".crt",
        "-days", String.valueOf(days), "-subj", subject));
    for (String e : extensions) {
      args.add("-addext");
      args.add(e);
    }
    run(dir, args.toArray(String[]::new));
  }

  /** Key generation arguments: PKCS#8 EC P-256 ("PRIVATE KEY") into {@code name}.key. */
  static List<String> ecPkcs8(String name) {
    return List.of("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key");
  }

  /** Key generation arguments: traditional "EC PRIVATE KEY", after an "EC PARAMETERS" block, into {@code name}.key. */
  static List<String> ecTraditional(String name) {
    return List.of("ecparam", "-name", "prime256v1", "-genkey", "-out", name + ".key");
  }

  /** Key generation arguments: traditional "RSA PRIVATE KEY", 2048 bits, into {@code name}.key. */
  static List<String> rsaTraditional(String name) {
    return List.of("genrsa", "-traditional", "-out", name + ".key", "2048");
  }

  /** Writes certificates as PEM to {@code file}. */
  static Path write(Path file, List<X509Certificate> certs) throws Exception {
    StringBuilder b = new StringBuilder();
    for (X509Certificate c : certs) {
      b.append(Pem.encode("CERTIFICATE", c.getEncoded()));
    }
    Files.writeString(file, b, StandardCharsets.US_ASCII);
    return file;
  }

  /** The hex of the key identifier openssl prints for {@code ext} (subjectKeyIdentifier, authorityKeyIdentifier). */
  static String keyId(Path dir, String certFile, String ext) throws Exception {
    String out = run(dir, "x509", "-in", certFile, "-noout", "-ext", ext);
    Matcher m = Pattern.compile("(?:keyid:)?((?:[0-9A-F]{2}:)+[0-9A-F]{2})").matcher(out);
    if (!m.find()) {
      throw new AssertionError("no " + ext + " in " + certFile + ":\n" + out);
    }
    return m.group(1);
  }

  /** Bytes as openssl prints a key identifier. */
  static String colonHex(byte[] b) {
    return HexFormat.ofDelimiter(":").withUpperCase().formatHex(b);
  }
}
