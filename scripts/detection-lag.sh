#!/usr/bin/env bash
# Detection lag per safety rule through the pod on simulated nights
# (controller's TestDetectionLag: the four simulated chips on their drivers
# and sensing loops, the real estimators and watchdog, on testing/synctest's
# fake clock; the merge-only rules through a merge): from the moment the
# sleeper's signal crosses the rule's threshold (from the scenario) to the
# abort, minus the rule's alarm delay. The order in which goroutines run at
# one fake instant varies, so the test runs several times; the table gives
# each rule's median and range, and where the lag goes (medians): until the
# watchdog first saw the alarm condition (the estimator's lag, the
# oximeter's 200 ms polling), the age of the value reported then (how long
# before then the true vital had that value), the onset the delay was
# counted from (the time the values that show the condition describe, or
# for sensor_stale the evaluation that saw it) after the crossing, and from the end of the delay counted from that onset to the
# abort (an evaluation's wait, or the rest of the watchdog's 1 s floor from
# the sight). About 7 s a run.
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
# after returns the number that follows key in s, or "" when key is absent.
function after(s, key,   i, rest) {
	i = index(s, key)
	if (i == 0) return ""
	rest = substr(s, i + length(key))
	sub(/^ */, "", rest)
	sub(/[^-0-9.].*$/, "", rest)
	return rest
}
function med(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function column(name, rule, fmt,   k, v) {
	if (x[rule, name, 1] == "") return "–"
	for (k = 1; k <= n[rule]; k++) v[k] = x[rule, name, k] + 0
	return sprintf(fmt, med(v, n[rule]))
}
{
	# detection-lag RULE SCENARIO: crossed X s, abort Y s, delay D s, lag L s[ (seen S s after the crossing; the value then, V, was A s old; onset O s after the crossing, tripped T s after the delay from it)]
	rule = $2; sc = $3; sub(/:$/, "", sc)
	if (!(rule in n)) { order[++rules] = rule; scen[rule] = sc; crossed[rule] = after($0, "crossed"); delay[rule] = after($0, ", delay") }
	k = ++n[rule]
	x[rule, "lag", k] = after($0, ", lag")
	x[rule, "seen", k] = after($0, "(seen")
	x[rule, "age", k] = after($0, " was")
	x[rule, "onset", k] = after($0, "onset")
	x[rule, "tick", k] = after($0, "tripped")
}
END {
	if (rules == 0) { print "no detection-lag lines" > "/dev/stderr"; exit 1 }
	printf "Command: `%s` (%d runs, fake clock)\n\n", cmd, count
	print "| rule | scenario | threshold crossed | alarm delay | detection lag: median (range) | seen after the crossing | age of the value then | onset after the crossing | after the delay from the onset |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for (r = 1; r <= rules; r++) {
		rule = order[r]
		lo = 1e9; hi = -1e9
		for (k = 1; k <= n[rule]; k++) { v = x[rule, "lag", k] + 0; if (v < lo) lo = v; if (v > hi) hi = v }
		printf "| %s | %s | %.3f s | %s s | %s (%.2f..%.2f) | %s | %s | %s | %s |\n", rule, scen[rule], crossed[rule], delay[rule],
			column("lag", rule, "%.2f s"), lo, hi, column("seen", rule, "%.1f s"), column("age", rule, "%.1f s"),
			column("onset", rule, "%.2f s"), column("tick", rule, "%.2f s")
	}
}'
