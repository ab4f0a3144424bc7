package io.portcullis.daemon.config;

/** The admin API: health, metrics and config endpoints. */
public record AdminConfig(
    @Doc("address of the admin API; loopback unless allowRemote") @Default("127.0.0.1:9090") HostPort listen,
    @Doc("allow a non-loopback admin.listen (remote admins should use the SSH console)") @Default("false") boolean allowRemote)
    implements Validatable {

  @Override
  public void validate(String path, Problems problems) {
    if (!allowRemote && !listen.isLoopback()) {
      problems.add(path + ".listen", '"' + listen.toString()
          + "\" is not a loopback address (set admin.allowRemote: true to expose the admin API)");
    }
  }
}
