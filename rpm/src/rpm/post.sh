#!/bin/sh
/usr/share/portcullis/setup
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
  if [ "$1" -eq 1 ]; then
    systemctl enable --now portcullis.service >/dev/null 2>&1 || :   # first install
  else
    systemctl try-restart portcullis.service >/dev/null 2>&1 || :    # upgrade
  fi
fi
exit 0
