package safety

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// Limits are the watchdog's thresholds and delays. Configuration may tighten
// them within the hard bounds below and never loosen them past those bounds.
type Limits struct {
	HeartRateHighBPM float64       // abort when the heart rate stays above this
	HeartRateLowBPM  float64       // abort when the heart rate stays below this
	HeartRateDelay   time.Duration // alarm-condition delay of both heart-rate rules
	SpO2LowPct       float64       // abort when SpO2 stays below this
	SpO2Delay        time.Duration // alarm-condition delay of the SpO2 rule
	// SpO2CriticalPct and SpO2CriticalDelay are the critical SpO2 rule: a
	// deeper desaturation acted on sooner (IEC 60601-1-8 high priority).
	SpO2CriticalPct   float64
	SpO2CriticalDelay time.Duration
	StaleAfter        time.Duration // abort when no valid vitals arrived for this long
	StartupGrace      time.Duration // extra time granted to the first valid vitals after start
}

// DefaultLimits are the factory defaults, from adult bedside monitors.
func DefaultLimits() Limits {
	return Limits{
		HeartRateHighBPM:  130,
		HeartRateLowBPM:   40,
		HeartRateDelay:    10 * time.Second,
		SpO2LowPct:        90,
		SpO2Delay:         10 * time.Second,
		SpO2CriticalPct:   85,
		SpO2CriticalDelay: 2 * time.Second,
		StaleAfter:        5 * time.Second,
		StartupGrace:      15 * time.Second,
	}
}

// bound is a hard limit on one field: the loosest value any configuration may set.
// MinFirstReading is the least StartupGrace + StaleAfter: the time the first
// valid reading may take after a start. The estimator needs
// vitals.FirstEstimateSeconds of signal; the sensor's open and first polls
// take up to a second more.
const MinFirstReading = time.Duration(vitals.FirstEstimateSeconds*float64(time.Second)) + time.Second

type bound struct {
	key      string
	value    float64
	min, max float64
	unit     string
}

// bounds are the hard bounds of l's fields, with l's values: the one list
// Problems checks and RuleTable prints.
func (l Limits) bounds() []bound {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	return []bound{
		{"safety.heart_rate_high_bpm", l.HeartRateHighBPM, 90, 160, "bpm"},
		{"safety.heart_rate_low_bpm", l.HeartRateLowBPM, 35, 60, "bpm"},
		{"safety.heart_rate_delay", sec(l.HeartRateDelay), 1, 30, "s"},
		{"safety.spo2_low_pct", l.SpO2LowPct, 85, 95, "%"},
		{"safety.spo2_delay", sec(l.SpO2Delay), 1, 30, "s"},
		{"safety.spo2_critical_pct", l.SpO2CriticalPct, 80, 88, "%"},
		{"safety.spo2_critical_delay", sec(l.SpO2CriticalDelay), 1, 5, "s"},
		{"safety.stale_after", sec(l.StaleAfter), 1, 10, "s"},
		{"safety.startup_grace", sec(l.StartupGrace), 0, 60, "s"},
	}
}

// Problems returns one error per field outside its hard bounds, each naming
// the configuration key (under "safety."), the value and what is allowed.
func (l Limits) Problems() []error {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	var errs []error
	for _, b := range l.bounds() {
		if !(b.value >= b.min && b.value <= b.max) {
			errs = append(errs, fmt.Errorf("%s: %g %s is outside the hard bounds %g..%g %s", b.key, b.value, b.unit, b.min, b.max, b.unit))
		}
	}
	if first := l.StartupGrace + l.StaleAfter; l.StartupGrace >= 0 && l.StaleAfter > 0 && first < MinFirstReading {
		errs = append(errs, fmt.Errorf("safety.startup_grace: %g s with safety.stale_after %g s gives the first valid reading %g s, less than the %g s it takes (the estimator's first %g s of signal and the sensor's start): the pod would latch vitals_stale at every start",
			sec(l.StartupGrace), sec(l.StaleAfter), sec(first), sec(MinFirstReading), vitals.FirstEstimateSeconds))
	}
	if l.SpO2CriticalPct >= l.SpO2LowPct {
		errs = append(errs, fmt.Errorf("safety.spo2_critical_pct: %g must be below safety.spo2_low_pct %g", l.SpO2CriticalPct, l.SpO2LowPct))
	}
	if l.HeartRateLowBPM >= l.HeartRateHighBPM {
		errs = append(errs, fmt.Errorf("safety.heart_rate_low_bpm: %g must be below safety.heart_rate_high_bpm %g", l.HeartRateLowBPM, l.HeartRateHighBPM))
	}
	return errs
}

// Validate joins Problems into one error, or returns nil.
func (l Limits) Validate() error { return errors.Join(l.Problems()...) }

// RuleTable is the table of the safety rules, their defaults and their
// hard bounds, in Markdown, made from DefaultLimits and the bounds Problems
// checks: the README shows it, and a test holds the two together.
func RuleTable() string {
	d := DefaultLimits()
	b := map[string]bound{}
	for _, x := range d.bounds() {
		b[x.key] = x
	}
	r := func(key string) string {
		x := b[key]
		return fmt.Sprintf("%g..%g", x.min, x.max)
	}
	sec := func(t time.Duration) string { return fmt.Sprintf("%g s", t.Seconds()) }
	var t strings.Builder
	t.WriteString("| rule | default | hard bounds | key |\n|---|---|---|---|\n")
	fmt.Fprintf(&t, "| `%s` | > %g bpm for %s | limit %s bpm, delay %s s | `heart_rate_high_bpm`, `heart_rate_delay` |\n",
		RuleHeartRateHigh, d.HeartRateHighBPM, sec(d.HeartRateDelay), r("safety.heart_rate_high_bpm"), r("safety.heart_rate_delay"))
	fmt.Fprintf(&t, "| `%s` | < %g bpm for %s | limit %s bpm, delay %s s | `heart_rate_low_bpm`, `heart_rate_delay` |\n",
		RuleHeartRateLow, d.HeartRateLowBPM, sec(d.HeartRateDelay), r("safety.heart_rate_low_bpm"), r("safety.heart_rate_delay"))
	fmt.Fprintf(&t, "| `%s` | < %g %% for %s | limit %s %%, delay %s s | `spo2_low_pct`, `spo2_delay` |\n",
		RuleSpO2Low, d.SpO2LowPct, sec(d.SpO2Delay), r("safety.spo2_low_pct"), r("safety.spo2_delay"))
	fmt.Fprintf(&t, "| `%s` | < %g %% for %s | limit %s %%, delay %s s | `spo2_critical_pct`, `spo2_critical_delay` |\n",
		RuleSpO2Critical, d.SpO2CriticalPct, sec(d.SpO2CriticalDelay), r("safety.spo2_critical_pct"), r("safety.spo2_critical_delay"))
	fmt.Fprintf(&t, "| `%s` | no valid heart rate and SpO2 for %s (%s more at start) | %s s (start: %s s) | `stale_after`, `startup_grace` |\n",
		RuleVitalsStale, sec(d.StaleAfter), sec(d.StartupGrace), r("safety.stale_after"), r("safety.startup_grace"))
	fmt.Fprintf(&t, "| `%s` | during a merge, the EEG, skin conductance or thermometer not healthy for %s | as `%s` | `stale_after` |\n",
		RuleSensorStale, sec(d.StaleAfter), RuleVitalsStale)
	return t.String()
}
