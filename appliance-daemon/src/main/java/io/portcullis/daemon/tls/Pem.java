package io.portcullis.daemon.tls;

import io.portcullis.daemon.config.AtomicFiles;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * PEM in and out for the inspection CA. Reading goes through BouncyCastle's PEMParser, which knows the three forms an
 * admin's key comes in (PKCS#8, OpenSSL's traditional EC and RSA), and the JDK's provider makes the keys. Small
 * helpers of ClusterCa are copied here rather than shared: tls must not depend on cluster.
 */
final class Pem {
  private Pem() {
  }

  /** A PEM file's contents that cannot be used; the message says why, never what the file holds. */
  static final class Unusable extends Exception {
    Unusable(String message) {
      super(message);
    }
  }

  /** DER bytes as PEM with the given label. */
  static String encode(String label, byte[] der) {
    return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END " + label + "-----\n";
  }

  /** The certificates in {@code pem}, in file order; other blocks are skipped. */
  static List<X509Certificate> certificates(String pem) throws Unusable {
    List<X509Certificate> out = new ArrayList<>();
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        if (o instanceof X509CertificateHolder h) {
          out.add(new JcaX509CertificateConverter().getCertificate(h));
        }
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new Unusable("is not PEM that can be read (" + e.getClass().getSimpleName() + ")");
    }
    return out;
  }

  /** The one unencrypted private key in {@code pem}: PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY. */
  static PrivateKey privateKey(String pem) throws Unusable {
    PrivateKey found = null;
    try (PEMParser p = new PEMParser(new StringReader(pem))) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      for (Object o = p.readObject(); o != null; o = p.readObject()) {
        PrivateKey k;
        if (o instanceof PrivateKeyInfo info) {
          k = converter.getPrivateKey(info);
        } else if (o instanceof PEMKeyPair pair) {
          k = converter.getKeyPair(pair).getPrivate();
        } else if (o instanceof PKCS8EncryptedPrivateKeyInfo || o instanceof PEMEncryptedKeyPair) {
          throw new Unusable("holds an encrypted key: the daemon starts unattended, so give it unencrypted "
              + "(openssl pkey -in KEY -out KEY.plain) and readable by the daemon's user only");
        } else {
          continue; // EC PARAMETERS (openssl ecparam -genkey writes them first), a certificate kept beside
        }
        if (found != null) {
          throw new Unusable("holds more than one private key");
        }
        found = k;
      }
    } catch (IOException e) {
      // The parser's message may quote the file's bytes: say only what failed.
      throw new Unusable("is not PEM that can be read (" + e.getClass().getSimpleName() + ")");
    }
    if (found == null) {
      throw new Unusable("holds no private key (PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)");
    }
    return jdkKey(found);
  }

  /**
   * {@code k} as the JDK's own provider holds it. With BouncyCastle registered (SSHD registers it when it is on the
   * class path) the converter gives BC's keys, named "ECDSA" where the JDK says "EC": the key's algorithm, the
   * signature chosen for it and the check that it matches its certificate must not depend on who registered what.
   */
  private static PrivateKey jdkKey(PrivateKey k) throws Unusable {
    String alg = k.getAlgorithm().equals("ECDSA") ? "EC" : k.getAlgorithm();
    try {
      return java.security.KeyFactory.getInstance(alg).generatePrivate(
          new java.security.spec.PKCS8EncodedKeySpec(k.getEncoded()));
    } catch (java.security.GeneralSecurityException e) {
      throw new Unusable("holds a " + alg + " key the JDK cannot use");
    }
  }

  /** The SHA-256 fingerprint of a certificate, hex bytes separated by colons (as browsers show it). */
  static String fingerprint(Certificate c) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(c.getEncoded());
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < d.length; i++) {
        sb.append(i == 0 ? "" : ":").append(String.format("%02X", d[i]));
      }
      return sb.toString();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes a private key readable by the daemon's user only, atomically. */
  static void writePrivate(Path file, String pem) throws IOException {
    AtomicFiles.write(file, pem.getBytes(StandardCharsets.US_ASCII), PosixFilePermissions.fromString("rw-------"));
  }
}
