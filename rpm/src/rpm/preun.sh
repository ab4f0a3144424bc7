#!/bin/sh
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl disable --now portcullis.service >/dev/null 2>&1 || :   # erase, not upgrade
fi
exit 0
