package io.portcullis.daemon.admin;

import io.portcullis.daemon.cluster.ClusterCa;
import io.portcullis.daemon.config.AdminConfig;
import io.portcullis.daemon.config.AtomicFiles;
import io.portcullis.daemon.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The admin API's settings: its config section and, off loopback, the certificate and key it serves (null on
 * loopback: plain HTTP there, where no one else can listen). The node's own certificate is made at first need in
 * DATA_DIR/admin-tls and kept; {@code admin.url} in the data dir tells the local console where and how to connect.
 */
public record AdminSettings(AdminConfig config, Path certificate, Path key) {
  /** Where the node's own certificate goes, under the data dir. */
  public static final String DIR = "admin-tls";
  /** The file that tells the local console the admin API's URL. */
  public static final String URL_FILE = "admin.url";
  /** Under {@link #DIR}: a copy of the certificate the admin API serves, for the local console to trust. */
  public static final String SERVED = "served.crt";
  private static final Duration VALIDITY = Duration.ofDays(3650);

  /** The settings of {@code c}; files it names are in {@code configDir}, the node's own in {@code dataDir}. */
  public static AdminSettings of(Config c, Path configDir, Path dataDir) {
    AdminConfig a = c.admin();
    try {
      Path cert = null;
      Path key = null;
      if (a.usesTls()) {
        cert = certificateOf(c, configDir, dataDir);
        if (!Files.isDirectory(dataDir.resolve(DIR))) {
          Files.createDirectories(dataDir.resolve(DIR), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
              java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
        }
        if (a.tls().certificate() != null) {
          key = configDir.resolve(a.tls().key());
        } else {
          key = dataDir.resolve(DIR).resolve("admin.key");
          if (!Files.exists(cert) || !Files.exists(key)) {
            makeOwn(c, cert, key);
          }
        }
      }
      if (cert != null) {
        // What the local console trusts: a copy of the certificate served, the node's own or the admin's.
        AtomicFiles.write(dataDir.resolve(DIR).resolve(SERVED), Files.readAllBytes(cert),
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
      }
      AtomicFiles.write(dataDir.resolve(URL_FILE), ((a.usesTls() ? "https" : "http") + "://"
          + a.listen().localAuthority() + "/\n").getBytes(StandardCharsets.US_ASCII), null);
      return new AdminSettings(a, cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException("admin API certificate: " + e.getMessage(), e);
    }
  }

  /** The certificate the admin API of {@code c} serves (what its clients trust); null when it is plain HTTP. */
  public static Path certificateOf(Config c, Path configDir, Path dataDir) {
    AdminConfig a = c.admin();
    if (!a.usesTls()) {
      return null;
    }
    return a.tls().certificate() != null ? configDir.resolve(a.tls().certificate())
        : dataDir.resolve(DIR).resolve("admin.crt");
  }

  /** A self-signed EC P-256 server certificate naming the node, this host, loopback and the listen address. */
  private static void makeOwn(Config c, Path cert, Path key) throws IOException {
    try {
      KeyPair kp = ClusterCa.newKeyPair();
      List<GeneralName> names = new ArrayList<>(List.of(new GeneralName(GeneralName.dNSName, "localhost"),
          new GeneralName(GeneralName.iPAddress, "127.0.0.1"), new GeneralName(GeneralName.iPAddress, "::1")));
      String node = c.node().name();
      if (node.matches("[A-Za-z0-9.-]+")) {
        names.add(new GeneralName(GeneralName.dNSName, node));
      }
      try {
        String host = InetAddress.getLocalHost().getHostName();
        if (host.matches("[A-Za-z0-9.-]+") && !host.equals(node)) {
          names.add(new GeneralName(GeneralName.dNSName, host));
        }
      } catch (IOException e) {
        // no host name: the node's name and addresses will do
      }
      String listen = c.admin().listen().host();
      if (io.portcullis.daemon.config.Addresses.isIpv4Literal(listen) && !listen.equals("0.0.0.0")
          || io.portcullis.daemon.config.Addresses.isIpv6Literal(listen) && !listen.equals("::")) {
        names.add(new GeneralName(GeneralName.iPAddress, listen));
      }
      Instant now = Instant.now();
      X500Name subject = new X500Name("CN=" + (node.matches("[A-Za-z0-9._-]+") ? node : "portcullis")
          + " admin API");
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, new BigInteger(120, new SecureRandom()),
          Date.from(now.minusSeconds(300)), Date.from(now.plus(VALIDITY)), subject, kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
      var x509 = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(
          "SHA256withECDSA").build(kp.getPrivate())));
      Files.createDirectories(key.getParent(), java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
      ClusterCa.writePrivate(key, ClusterCa.pem("PRIVATE KEY", kp.getPrivate().getEncoded()));
      AtomicFiles.write(cert, ClusterCa.pem("CERTIFICATE", x509.getEncoded()).getBytes(StandardCharsets.US_ASCII),
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the node's certificate: " + e.getMessage(), e);
    }
  }
}
