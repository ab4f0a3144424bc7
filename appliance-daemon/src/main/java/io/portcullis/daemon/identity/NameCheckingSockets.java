package io.portcullis.daemon.identity;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * TLS sockets to a directory that check its certificate names the host the URL gives, the JDK's way (endpoint
 * identification "LDAPS", RFC 2830): an IP address must be one of the certificate's IP addresses, never a DNS name
 * that happens to resolve to it. For ldaps and for StartTLS alike.
 */
final class NameCheckingSockets extends SSLSocketFactory {
  private final SSLSocketFactory delegate;

  NameCheckingSockets(SSLSocketFactory delegate) {
    this.delegate = delegate;
  }

  /**
   * Sockets trusting what {@code tm} trusts, TLS 1.2 and 1.3, the server's name checked by the JDK. The trust manager
   * goes in as a plain X509TrustManager in an SSLContext of our own: the JDK then checks the name itself (the
   * endpoint identification the sockets ask for), which it leaves to an extended trust manager, as a library's
   * context may give it.
   */
  static NameCheckingSockets of(javax.net.ssl.X509TrustManager tm) throws java.security.GeneralSecurityException {
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {plain(tm)}, null);
    return new NameCheckingSockets(ctx.getSocketFactory());
  }

  private static javax.net.ssl.X509TrustManager plain(javax.net.ssl.X509TrustManager tm) {
    return new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        tm.checkClientTrusted(chain, authType);
      }

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType)
          throws java.security.cert.CertificateException {
        tm.checkServerTrusted(chain, authType);
      }

      @Override
      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return tm.getAcceptedIssuers();
      }
    };
  }

  private static Socket checked(Socket s) {
    if (s instanceof SSLSocket t) {
      SSLParameters p = t.getSSLParameters();
      p.setEndpointIdentificationAlgorithm("LDAPS");
      p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
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
