#!/bin/sh
# Create the podd user and its directories, apply the device rules, and load
# the unit. The service is not started here: a technician sets pod.id in
# /etc/podd/pod.yaml first, then runs `systemctl enable --now podd`.
set -e
systemd-sysusers /usr/lib/sysusers.d/podd.conf || true
chgrp podd /etc/podd/pod.yaml || true
systemd-tmpfiles --create /usr/lib/tmpfiles.d/podd.conf || true
udevadm control --reload-rules 2>/dev/null && udevadm trigger 2>/dev/null || true
systemctl daemon-reload 2>/dev/null || true
if systemctl is-active --quiet podd 2>/dev/null; then
  systemctl restart podd
fi
