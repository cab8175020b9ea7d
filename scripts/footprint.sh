#!/usr/bin/env bash
# Prints podd's memory and CPU footprint: the simulated pod (calm night,
# embedded broker) runs for SECONDS (default 30), then its peak RSS, CPU time
# and threads are read from /proc. Usage: scripts/footprint.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
make -s build
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18830)
PODD_UPLINK_EMBEDDED_LISTEN=127.0.0.1:$port PODD_STORAGE_PATH="$dir/podd.db" PODD_API_SOCKET="$dir/podd.sock" \
  ./bin/podd --config configs/sim.yaml 2>"$dir/log" &
pid=$!
sleep "$secs"
hz=$(getconf CLK_TCK)
read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
threads=$(awk '/Threads/ {print $2}' "/proc/$pid/status")
outbox=$(./bin/podctl --socket "$dir/podd.sock" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["uplink"]["outbox"])' 2>/dev/null || echo "?")
kill -TERM "$pid"; wait "$pid" || true
cpu=$(( (utime + stime) * 1000 / hz ))
echo "podd, simulated pod with embedded broker, ${secs} s on $(uname -m):"
echo "  peak RSS        ${rss} kB"
echo "  CPU time        ${cpu} ms ($(( cpu / secs )) ms per second, $(awk "BEGIN {printf \"%.2f\", $cpu / ($secs * 10)}") % of one core)"
echo "  threads         ${threads}"
echo "  outbox at end   ${outbox} records waiting"
