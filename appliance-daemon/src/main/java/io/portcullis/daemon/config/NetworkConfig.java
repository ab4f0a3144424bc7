package io.portcullis.daemon.config;

import java.util.List;

/**
 * The node's own network settings, for the appliance (ISO), where the node owns its system: with {@code manage}, each
 * commit writes them for systemd-networkd, which a root helper applies. Packages leave the host's network alone.
 */
public record NetworkConfig(
    @Doc("write these settings to the system (the ISO appliance: true; packages: false, the host's admin owns them)")
    @Default("false") boolean manage,
    @Doc("the system's host name") @OptionalKey String hostname,
    @Doc("interfaces set by name (others keep DHCP)") List<Interface> interfaces,
    @Doc("DNS servers (IP addresses)") List<String> dns,
    @Doc("NTP servers (host names or IP addresses)") List<String> ntp) implements Validatable {

  /** One NIC's settings. */
  public record Interface(
      @Doc("the interface name (ens3, eth0…)") String name,
      @Doc("take an address by DHCP (as well as any static addresses)") @Default("false") boolean dhcp,
      @Doc("static addresses with prefix length (192.0.2.10/24)") List<Cidr> addresses,
      @Doc("the default gateway through this interface (an IP address)") @OptionalKey String gateway)
      implements Validatable {

    @Override
    public void validate(String path, Problems problems) {
      if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")) {
        problems.add(path + ".name", '"' + name + "\" is not an interface name (letters, digits, _ . -, at most 15)");
      }
      if (!dhcp && addresses.isEmpty()) {
        problems.add(path + ".addresses", "an interface without dhcp needs at least one address");
      }
      if (gateway != null && !Addresses.isIpv4Literal(gateway) && !Addresses.isIpv6Literal(gateway)) {
        problems.add(path + ".gateway", '"' + gateway + "\" is not an IP address");
      }
    }
  }

  @Override
  public void validate(String path, Problems problems) {
    if (hostname != null && (!Addresses.isHostName(hostname) || hostname.length() > 63 && !hostname.contains("."))) {
      problems.add(path + ".hostname", '"' + hostname + "\" is not a host name");
    }
    for (int i = 0; i < dns.size(); i++) {
      if (!Addresses.isIpv4Literal(dns.get(i)) && !Addresses.isIpv6Literal(dns.get(i))) {
        problems.add(path + ".dns[" + i + "]", '"' + dns.get(i) + "\" is not an IP address");
      }
    }
    for (int i = 0; i < ntp.size(); i++) {
      String n = ntp.get(i);
      if (!Addresses.isHostName(n) && !Addresses.isIpv4Literal(n) && !Addresses.isIpv6Literal(n)) {
        problems.add(path + ".ntp[" + i + "]", '"' + n + "\" is not a host name or IP address");
      }
    }
  }
}
