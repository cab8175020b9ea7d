#!/usr/bin/env bash
# Runs the sensing benchmarks (package sensing, rateset_bench_test.go) in one
# go test run and prints their figures as a markdown table: the default rate
# set (8-channel EEG at 500 sps, PPG at 100 sps, skin conductance at 10 sps,
# temperature at 1 sps) through the drivers, the simulator's chips and buses
# and the estimators on their sensing loops, against the estimators alone
# (the baseline), with the ratios; then the same rate set on testing/synctest's
# fake clock (TestRateSetBusTransactions): its CPU per second of signal, the
# work without the real clock's timers and wake-ups. About 30 s.
# Usage: scripts/bench-sensing.sh [-seconds N] [-warmup DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=10
warmup=5s
while [ $# -gt 0 ]; do
	case "$1" in
	-seconds) seconds=$2; shift 2 ;;
	-warmup) warmup=$2; shift 2 ;;
	*) echo "usage: $0 [-seconds N] [-warmup DURATION]" >&2; exit 2 ;;
	esac
done
cmd="go test -run '^\$' -bench '^BenchmarkRateSet' -benchtime ${seconds}x -count 1 ./sensing/ -args -sensing.warmup=$warmup"
out=$(eval "$cmd")
fakecmd="go test -run '^TestRateSetBusTransactions\$' -v -count 1 ./sensing/"
fake=$(eval "$fakecmd" | sed -n 's/.*CPU \([0-9.]*\) ms per second of signal.*/\1/p')
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)' >&2
echo "$out" | awk -v cmd="$cmd" -v fakecmd="$fakecmd" -v fake="${fake:-n/a}" -v cores="$(nproc)" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
function metric(line, unit,   n, f, i) {
	n = split(line, f, /[ \t]+/)
	for (i = 2; i <= n; i++) if (f[i] == unit) return f[i-1]
	return "n/a"
}
/^BenchmarkRateSet-/ { full = $0 }
/^BenchmarkRateSetEstimators-/ { base = $0 }
/^cpu:/ { sub(/^cpu: */, ""); sub(/ *$/, ""); cpu = $0 }
END {
	if (full == "" || base == "") { print "a benchmark did not run" > "/dev/stderr"; exit 1 }
	printf "Command: `%s` (%s, %d cores, load average %s after the run)\n\n", cmd, cpu, cores, load
	print "| | drivers + buses + loops | estimators alone | ratio |"
	print "|---|---:|---:|---:|"
	fc = metric(full, "cpu-ms/signal-s"); bc = metric(base, "cpu-ms/signal-s")
	printf "| CPU per second of signal | %.2f ms | %.3f ms | %.0f× |\n", fc, bc, fc / bc
	printf "| share of one core | %.2f %% | %.3f %% | |\n", metric(full, "core-%"), metric(base, "core-%")
	printf "| CPU per second of signal on the fake clock (`%s`) | %s ms | | %.0f× |\n", fakecmd, fake, fake / bc
	fa = metric(full, "allocs/op"); ba = metric(base, "allocs/op")
	printf "| allocations per second of signal | %d | %d | |\n", fa, ba
	printf "| allocations per sample (611 samples/s) | %.2f | %.2f | |\n", metric(full, "allocs/sample"), ba / 611
	printf "| bytes allocated per second of signal | %d | %d | |\n", metric(full, "B/op"), metric(base, "B/op")
	print ""
	print "| bus | transactions/s | minimum/s | ratio |"
	print "|---|---:|---:|---:|"
	split("eeg 500 ppg 3.125 eda 10 temp 1", m, " ")
	for (i = 1; i <= 8; i += 2) {
		t = metric(full, m[i] "-txs/s")
		printf "| %s | %.1f | %s | %.2f |\n", m[i], t, m[i+1], t / m[i+1]
	}
	printf "| all | %.1f | %.3f | %.2f |\n", metric(full, "txs/s"), metric(full, "min-txs/s"), metric(full, "txs/s") / metric(full, "min-txs/s")
}'
