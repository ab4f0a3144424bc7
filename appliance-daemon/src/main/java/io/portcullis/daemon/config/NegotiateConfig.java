package io.portcullis.daemon.config;

/**
 * Kerberos single sign-on (SPNEGO, {@code Proxy-Authenticate: Negotiate}): domain PCs log in with their ticket, no
 * password typed. On while keytab is set; Basic stays offered beside it for clients outside the domain.
 */
public record NegotiateConfig(
    @Doc("the keytab holding the proxy's service key (ktpass or kadmin ktadd; relative to the config's directory; "
        + "keep it readable by the daemon's user only); none: no Negotiate") @OptionalKey @ConfigFile String keytab,
    @Doc("the service principal to accept tickets for, HTTP/proxy-fqdn@REALM (the name clients use for the proxy); "
        + "none: any principal the keytab holds") @OptionalKey String principal,
    @Doc("a krb5.conf (relative to the config's directory) for the realm; none: the system's /etc/krb5.conf")
    @OptionalKey @ConfigFile String krb5Conf,
    @Doc("the user name is the principal without its realm (alice of alice@EXAMPLE.COM), as LDAP and local users "
        + "are named; false: the whole principal") @Default("true") boolean stripRealm) implements Validatable {

  /** True when Negotiate is offered. */
  public boolean enabled() {
    return keytab != null;
  }

  @Override
  public void validate(String path, Problems problems) {
    if (principal != null && !principal.matches("[^/@\\s]+/[^/@\\s]+(@[^@\\s]+)?")) {
      problems.add(path + ".principal", "\"" + principal + "\" is not a service principal like "
          + "HTTP/proxy.example.com@EXAMPLE.COM");
    }
    if (keytab == null && (principal != null || krb5Conf != null)) {
      problems.add(path + ".keytab", "is required with principal or krb5Conf");
    }
  }
}
