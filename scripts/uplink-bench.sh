#!/usr/bin/env bash
# Prints one markdown table from one run against a local mosquitto (started
# for the run on a free loopback port): plain paho QoS 1 as the baseline, then
# podd's durable uplink (journal appends with the uplink delivering), appends
# alone, and the drain of a 100,000-record backlog after a reconnect, in
# messages/s and as ratios to the baseline; fsyncs per record when strace is
# installed (n/a otherwise). About 2 minutes with the defaults.
# Usage: scripts/uplink-bench.sh [-n N] [-backlog N] [-window N] [-fsync=false] [-dir DIR] [-broker URL]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/uplinkbench" ./internal/uplinkbench
"$bin/uplinkbench" -cmdline "scripts/uplink-bench.sh${*:+ $*}" "$@"
