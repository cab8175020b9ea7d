#!/usr/bin/env bash
# Runs the sensing benchmarks (package sensing, rateset_bench_test.go and
# rateset_drivers_bench_test.go) in one go test run and prints their figures
# as markdown tables, for the default rate set (8-channel EEG at 500 sps, PPG
# at 100 sps, skin conductance at 10 sps, temperature at 1 sps):
#  - through the drivers, the simulator's chips and buses and the estimators
#    on their sensing loops (BenchmarkRateSet), against the estimators alone
#    (BenchmarkRateSetEstimators), with the ratios; then the same rate set on
#    testing/synctest's fake clock (TestRateSetBusTransactions): its CPU per
#    second of signal, the work without the real clock's timers and wake-ups;
#  - the pod's own work: the same drivers, loops and estimators on replay
#    chips whose answers were prepared beforehand, one DRDY wake per EEG
#    frame (BenchmarkRateSetDrivers/ticker), against the wake floor of this
#    machine, a goroutine woken 500 times a second doing nothing
#    (BenchmarkRateSetWakeFloor/bare), and the floor plus a 27-byte read of
#    /dev/zero per wake (.../read27, a stand-in for a pod's SPI ioctl);
#    then all of it again with the DRDY edges from the kernel, a periodic
#    timerfd read through Go's network poller as periph's gpioioctl reads a
#    GPIO line (.../timerfd).
# The load average is printed before and after: real-clock figures move with
# the machine's other work. About 3 minutes (each replay set runs until every
# vital is valid, a minute, before it is measured).
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
load0=$(cut -d' ' -f1-3 /proc/loadavg)
cmd="go test -run '^\$' -bench '^BenchmarkRateSet' -benchtime ${seconds}x -count 1 ./sensing/ -args -sensing.warmup=$warmup"
if ! out=$(eval "$cmd" 2>&1); then
	echo "$out" >&2
	echo "$0: the benchmarks failed (above)" >&2
	exit 1
fi
fakecmd="go test -run '^TestRateSetBusTransactions\$' -v -count 1 ./sensing/"
fake=$(eval "$fakecmd" | sed -n 's/.*CPU \([0-9.]*\) ms per second of signal.*/\1/p')
echo "$out" | grep -E '^(goos|goarch|cpu|Benchmark)' >&2
echo "$out" | awk -v cmd="$cmd" -v fakecmd="$fakecmd" -v fake="${fake:-n/a}" -v cores="$(nproc)" -v load0="$load0" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v date="$(date -u +%Y-%m-%dT%H:%MZ)" '
function metric(line, unit,   n, f, i) {
	n = split(line, f, /[ \t]+/)
	for (i = 2; i <= n; i++) if (f[i] == unit) return f[i-1]
	return "n/a"
}
/^BenchmarkRateSet-/ { full = $0 }
/^BenchmarkRateSetEstimators-/ { base = $0 }
/^BenchmarkRateSetDrivers\/ticker-/ { drv = $0 }
/^BenchmarkRateSetDrivers\/timerfd-/ { kdrv = $0 }
/^BenchmarkRateSetWakeFloor\/bare-/ { bare = $0 }
/^BenchmarkRateSetWakeFloor\/read27-/ { r27 = $0 }
/^BenchmarkRateSetWakeFloor\/timerfd-[0-9]+[ \t]/ { kbare = $0 }
/^BenchmarkRateSetWakeFloor\/timerfd-read27-/ { kr27 = $0 }
/^cpu:/ { sub(/^cpu: */, ""); sub(/ *$/, ""); cpu = $0 }
END {
	if (full == "" || base == "" || drv == "" || kdrv == "" || bare == "" || r27 == "" || kbare == "" || kr27 == "") { print "a benchmark did not run" > "/dev/stderr"; exit 1 }
	printf "Command: `%s` (%s, %d cores, %s, load average %s before the run, %s after)\n\n", cmd, cpu, cores, date, load0, load
	print "| | drivers + buses + loops | estimators alone | ratio |"
	print "|---|---:|---:|---:|"
	fc = metric(full, "cpu-ms/signal-s"); bc = metric(base, "cpu-ms/signal-s")
	printf "| CPU per second of signal | %.2f ms | %.3f ms | %.0f× |\n", fc, bc, fc / bc
	printf "| share of one core | %.2f %% | %.3f %% | |\n", metric(full, "core-%"), metric(base, "core-%")
	printf "| CPU per second of signal on the fake clock (`%s`) | %s ms | | %.0f× |\n", fakecmd, fake, fake / bc
	fa = metric(full, "allocs/op"); ba = metric(base, "allocs/op")
	printf "| allocations per second of signal | %d | %d | |\n", fa, ba
	printf "| allocations per sample (611 samples/s) | %.4f | %.2f | |\n", metric(full, "allocs/sample"), ba / 611
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
	print ""
	print "| the pod'"'"'s own work | CPU per second of signal | share of one core | × the wake floor |"
	print "|---|---:|---:|---:|"
	dc = metric(drv, "cpu-ms/signal-s"); wc = metric(bare, "cpu-ms/signal-s"); rc = metric(r27, "cpu-ms/signal-s")
	printf "| drivers + loops + estimators on replay chips, one DRDY wake per EEG frame | %.2f ms | %.2f %% | %.2f× |\n", dc, dc / 10, dc / wc
	printf "| wake floor: a goroutine woken %.0f times a second, nothing else | %.2f ms | %.2f %% | 1× |\n", metric(bare, "wakes/s"), wc, wc / 10
	printf "| the floor + a 27-byte read of /dev/zero per wake (stand-in for the SPI ioctl) | %.2f ms | %.2f %% | %.2f× |\n", rc, rc / 10, rc / wc
	printf "| drivers − floor: the code above the wake | %.2f ms | %.2f %% | |\n", dc - wc, (dc - wc) / 10
	kd = metric(kdrv, "cpu-ms/signal-s"); kw = metric(kbare, "cpu-ms/signal-s"); kr = metric(kr27, "cpu-ms/signal-s")
	printf "| drivers + loops + estimators, DRDY edges from the kernel (a timerfd through the network poller, as gpioioctl reads a GPIO line) | %.2f ms | %.2f %% | %.2f× |\n", kd, kd / 10, kd / kw
	printf "| wake floor with the kernel'"'"'s edges: woken %.0f times a second, nothing else | %.2f ms | %.2f %% | 1× |\n", metric(kbare, "wakes/s"), kw, kw / 10
	printf "| the kernel'"'"'s floor + a 27-byte read per wake | %.2f ms | %.2f %% | %.2f× |\n", kr, kr / 10, kr / kw
	printf "| drivers − floor, with the kernel'"'"'s edges | %.2f ms | %.2f %% | |\n", kd - kw, (kd - kw) / 10
	printf "| simulator (BenchmarkRateSet, above) | %.2f ms | %.2f %% | %.2f× |\n", fc, fc / 10, fc / wc
	printf "\nPod'"'"'s own work: %.4f allocations per sample (%d a second), %.1f EEG frames read and %.1f lost a second; valid estimates: PPG %.0f %%, EEG %.0f %%, skin conductance %.0f %%, temperature %.0f %%. One 27-byte read costs %.1f µs of CPU over a bare wake.\n", metric(drv, "allocs/sample"), metric(drv, "allocs/op"), metric(drv, "eeg-frames/s"), metric(drv, "eeg-lost-frames/s"), metric(drv, "ppg-valid-%"), metric(drv, "eeg-valid-%"), metric(drv, "skin-valid-%"), metric(drv, "temp-valid-%"), (rc - wc) * 1000 / metric(r27, "wakes/s")
}'
