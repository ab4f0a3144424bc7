package io.portcullis.daemon.identity;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * TLS sockets to a directory that check its certificate names the host the URL gives, the JDK's way (endpoint
 * identification "LDAPS", RFC 2830, done by the JDK's PKIX trust manager): an IP address must be one of the
 * certificate's IP addresses, never a DNS name that happens to resolve to it. For ldaps and for StartTLS alike.
 */
final class NameCheckingSockets extends SSLSocketFactory {
  private final SSLSocketFactory delegate;

  NameCheckingSockets(SSLSocketFactory delegate) {
    this.delegate = delegate;
  }

  /** Sockets trusting what {@code tm} (the JDK's PKIX) trusts, TLS 1.2 and 1.3, the server's name checked. */
  static NameCheckingSockets of(javax.net.ssl.X509ExtendedTrustManager tm)
      throws java.security.GeneralSecurityException {
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {tm}, null);
    return new NameCheckingSockets(ctx.getSocketFactory());
  }

  private static Socket checked(Socket s) {
    if (s instanceof SSLSocket t) {
      SSLParameters p = t.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("LDAPS");
      // TLS 1.3 and 1.2, those of them the provider has (a FIPS one may lack 1.3).
      java.util.List<String> have = java.util.List.of(t.getSupportedProtocols());
      p.setProtocols(java.util.stream.Stream.of("TLSv1.3", "TLSv1.2").filter(have::contains).toArray(String[]::new));
      t.setSSLParameters(p);
    }
    return s;
  }

  @Override
  public Socket createSocket() throws IOException {
    return checked(delegate.createSocket());
  }

  @Override
  public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
    return checked(delegate.createSocket(s, host, port, autoClose));
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return checked(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress local, int localPort) throws IOException {
    return checked(delegate.createSocket(host, port, local, localPort));
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return checked(delegate.createSocket(host, port));
  }

  @Override
  public Socket createSocket(InetAddress host, int port, InetAddress local, int localPort) throws IOException {
    return checked(delegate.createSocket(host, port, local, localPort));
  }

  @Override
  public String[] getDefaultCipherSuites() {
    return delegate.getDefaultCipherSuites();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate.getSupportedCipherSuites();
  }
}
