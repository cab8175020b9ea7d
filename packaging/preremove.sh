#!/bin/sh
# Stop the daemon on removal: SIGTERM puts the outputs in their safe state first.
set -e
systemctl stop podd 2>/dev/null || true
systemctl disable podd 2>/dev/null || true
