#!/bin/sh
getent group portcullis >/dev/null || groupadd -r portcullis
getent passwd portcullis >/dev/null || useradd -r -g portcullis -d /var/lib/portcullis -s /sbin/nologin \
  -c "Portcullis appliance" portcullis
exit 0
