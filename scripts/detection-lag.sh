#!/usr/bin/env bash
# Detection lag per safety rule through the pod on simulated nights
# (controller's TestDetectionLag: the real oximeter driver, estimator,
# sensing loop and watchdog, the four simulated chips, on testing/synctest's
# fake clock): from the moment the simulated vital crosses the rule's
# threshold (from the scenario) to the abort, minus the rule's alarm delay.
# The order in which goroutines run at one fake instant varies, so the test
# runs several times; the table gives the median and the range of each
# rule, and where the lag goes: until the watchdog's alarm delay began (the
# estimator's lag, the oximeter's 200 ms polling, the watchdog's 100 ms
# tick) and from the end of the delay to the abort (the tick). A few
# seconds.
# Usage: scripts/detection-lag.sh [-count N]
set -euo pipefail
cd "$(dirname "$0")/.."
count=5
while [ $# -gt 0 ]; do
	case "$1" in
	-count) count=$2; shift 2 ;;
	*) echo "usage: $0 [-count N]" >&2; exit 2 ;;
	esac
done
cmd="go test -run '^TestDetectionLag\$' -v -count $count ./controller/"
out=$(eval "$cmd")
echo "$out" | grep -q '^ok' || { echo "$out" >&2; exit 1; }
echo "$out" | grep -o 'detection-lag .*' | awk -v cmd="$cmd" -v count="$count" '
function sortn(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
}
function med(a, n) { sortn(a, n); return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
{
	# detection-lag RULE SCENARIO: crossed X s, abort Y s, delay D s, lag L s[ (delay began B s after the crossing, tripped T s after the delay)]
	rule = $2; sc = $3; sub(/:$/, "", sc)
	if (!(rule in n)) { order[++rules] = rule; scen[rule] = sc; crossed[rule] = $5; delay[rule] = $11 }
	k = ++n[rule]
	lag[rule, k] = $14
	began[rule, k] = (NF >= 18) ? $18 : ""
	tick[rule, k] = (NF >= 24) ? $24 : ""
}
END {
	if (rules == 0) { print "no detection-lag lines" > "/dev/stderr"; exit 1 }
	printf "Command: `%s` (%d runs, fake clock)\n\n", cmd, count
	print "| rule | scenario | threshold crossed | alarm delay | detection lag (median, range) | until the delay began | after the delay |"
	print "|---|---|---:|---:|---:|---:|---:|"
	for (r = 1; r <= rules; r++) {
		rule = order[r]; m = n[rule]
		lo = 1e9; hi = -1e9
		for (k = 1; k <= m; k++) { v[k] = lag[rule, k]; if (v[k] < lo) lo = v[k]; if (v[k] > hi) hi = v[k] }
		l = med(v, m)
		b = "–"; t = "–"
		if (began[rule, 1] != "") {
			for (k = 1; k <= m; k++) v[k] = began[rule, k]; b = sprintf("%.1f s", med(v, m))
			for (k = 1; k <= m; k++) v[k] = tick[rule, k]; t = sprintf("%.1f s", med(v, m))
		}
		printf "| %s | %s | %.3f s | %s s | %.2f s (%.2f..%.2f) | %s | %s |\n", rule, scen[rule], crossed[rule], delay[rule], l, lo, hi, b, t
	}
}'
