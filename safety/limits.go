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

	// HeartRateRiseBPM is heart_rate_rise's rise, bpm: during a merge, a
	// valid heart rate more than this above both the session's baseline
	// and the lowest valid rate of the last RiseWindow, for longer than
	// HeartRateDelay.
	HeartRateRiseBPM float64
	// TemperatureLowC and TemperatureHighC are core temperatures, °C (the
	// thermometer's reading plus Options.CoreOffsetC), beyond which the
	// body temperature may not stay for longer than TemperatureDelay.
	TemperatureLowC  float64
	TemperatureHighC float64
	TemperatureDelay time.Duration
	// StressSCRPerMin is stress's level: during a merge, a valid skin
	// conductance reading with at least this many responses (SCRs) in its
	// last minute, for longer than StressDelay.
	StressSCRPerMin float64
	StressDelay     time.Duration
	// EEGArousalRatio is eeg_arousal's factor: during a merge, the EEG's
	// beta/alpha power ratio above this many times the session
	// baseline's, for longer than EEGArousalDelay.
	EEGArousalRatio float64
	EEGArousalDelay time.Duration
	// StabilityMin is stability_low's limit: during a merge, the stability
	// index (Stability, 0..1) below it for longer than StabilityDelay.
	StabilityMin   float64
	StabilityDelay time.Duration
	// PipelineStallAfter is pipeline_stalled's limit: no reading fed at
	// all, valid or not, for longer than this, armed as vitals_stale is.
	PipelineStallAfter time.Duration
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

		HeartRateRiseBPM:   40,
		TemperatureLowC:    35.0,
		TemperatureHighC:   38.5,
		TemperatureDelay:   time.Minute,
		StressSCRPerMin:    12,
		StressDelay:        2 * time.Minute,
		EEGArousalRatio:    3,
		EEGArousalDelay:    30 * time.Second,
		StabilityMin:       0.3,
		StabilityDelay:     10 * time.Second,
		PipelineStallAfter: time.Second,
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
		{"safety.heart_rate_rise_bpm", l.HeartRateRiseBPM, 20, 50, "bpm"},
		{"safety.temperature_low_c", l.TemperatureLowC, 34, 36, "°C"},
		{"safety.temperature_high_c", l.TemperatureHighC, 37.5, 39.5, "°C"},
		{"safety.temperature_delay", sec(l.TemperatureDelay), 10, 120, "s"},
		{"safety.stress_scr_per_min", l.StressSCRPerMin, 6, 30, "/min"},
		{"safety.stress_delay", sec(l.StressDelay), 30, 300, "s"},
		{"safety.eeg_arousal_ratio", l.EEGArousalRatio, 1.5, 5, "x"},
		{"safety.eeg_arousal_delay", sec(l.EEGArousalDelay), 10, 120, "s"},
		{"safety.stability_min", l.StabilityMin, 0.2, 0.5, ""},
		{"safety.stability_delay", sec(l.StabilityDelay), 5, 30, "s"},
		{"safety.pipeline_stall_after", sec(l.PipelineStallAfter), 0.5, 2, "s"},
	}
}

// Problems returns one error per field outside its hard bounds, each naming
// the configuration key (under "safety."), the value and what is allowed.
func (l Limits) Problems() []error {
	sec := func(d time.Duration) float64 { return d.Seconds() }
	var errs []error
	for _, b := range l.bounds() {
		if !(b.value >= b.min && b.value <= b.max) {
			u := ""
			if b.unit != "" {
				u = " " + b.unit
			}
			errs = append(errs, fmt.Errorf("%s: %g%s is outside the hard bounds %g..%g%s", b.key, b.value, u, b.min, b.max, u))
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
	t.WriteString("| rule | priority | default | hard bounds | key |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&t, "| `%s` | %s | > %g bpm for %s | limit %s bpm, delay %s s | `heart_rate_high_bpm`, `heart_rate_delay` |\n",
		RuleHeartRateHigh, Priority(RuleHeartRateHigh), d.HeartRateHighBPM, sec(d.HeartRateDelay), r("safety.heart_rate_high_bpm"), r("safety.heart_rate_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | < %g bpm for %s | limit %s bpm, delay %s s | `heart_rate_low_bpm`, `heart_rate_delay` |\n",
		RuleHeartRateLow, Priority(RuleHeartRateLow), d.HeartRateLowBPM, sec(d.HeartRateDelay), r("safety.heart_rate_low_bpm"), r("safety.heart_rate_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | < %g %% for %s | limit %s %%, delay %s s | `spo2_low_pct`, `spo2_delay` |\n",
		RuleSpO2Low, Priority(RuleSpO2Low), d.SpO2LowPct, sec(d.SpO2Delay), r("safety.spo2_low_pct"), r("safety.spo2_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | < %g %% for %s | limit %s %%, delay %s s | `spo2_critical_pct`, `spo2_critical_delay` |\n",
		RuleSpO2Critical, Priority(RuleSpO2Critical), d.SpO2CriticalPct, sec(d.SpO2CriticalDelay), r("safety.spo2_critical_pct"), r("safety.spo2_critical_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | no valid heart rate and SpO2 for %s (%s more at start) | %s s (start: %s s) | `stale_after`, `startup_grace` |\n",
		RuleVitalsStale, Priority(RuleVitalsStale), sec(d.StaleAfter), sec(d.StartupGrace), r("safety.stale_after"), r("safety.startup_grace"))
	fmt.Fprintf(&t, "| `%s` | %s | during a merge, the EEG, skin conductance or thermometer not healthy for %s (the EEG's electrodes off: `lead_off`) | as `%s` | `stale_after` |\n",
		RuleSensorStale, Priority(RuleSensorStale), sec(d.StaleAfter), RuleVitalsStale)
	fmt.Fprintf(&t, "| `%s` | %s | no reading at all from the pulse oximeter's loop for %s, armed as `%s` | %s s | `pipeline_stall_after` |\n",
		RulePipeline, Priority(RulePipeline), sec(d.PipelineStallAfter), RuleVitalsStale, r("safety.pipeline_stall_after"))
	fmt.Fprintf(&t, "| `%s` | %s | during a merge, > %g bpm above the baseline and the last %s's lowest rate, for %s | rise %s bpm, delay as `%s` | `heart_rate_rise_bpm`, `heart_rate_delay` |\n",
		RuleHeartRateRise, Priority(RuleHeartRateRise), d.HeartRateRiseBPM, sec(RiseWindow), sec(d.HeartRateDelay), r("safety.heart_rate_rise_bpm"), RuleHeartRateHigh)
	fmt.Fprintf(&t, "| `%s` | %s | core < %g °C (reading + `sensors.tmp117.core_offset_c`) for %s | limit %s °C, delay %s s | `temperature_low_c`, `temperature_delay` |\n",
		RuleTempLow, Priority(RuleTempLow), d.TemperatureLowC, sec(d.TemperatureDelay), r("safety.temperature_low_c"), r("safety.temperature_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | core > %g °C for %s | limit %s °C, delay %s s | `temperature_high_c`, `temperature_delay` |\n",
		RuleTempHigh, Priority(RuleTempHigh), d.TemperatureHighC, sec(d.TemperatureDelay), r("safety.temperature_high_c"), r("safety.temperature_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | during a merge, >= %g skin conductance responses a minute with the heart rate > %g bpm above the baseline's, for %s | level %s /min, delay %s s | `stress_scr_per_min`, `stress_delay` |\n",
		RuleStress, Priority(RuleStress), d.StressSCRPerMin, float64(ArousalHeartRateBPM), sec(d.StressDelay), r("safety.stress_scr_per_min"), r("safety.stress_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | during a merge, EEG beta/alpha > %g x the baseline's with the heart rate > %g bpm above the baseline's, for %s | factor %s, delay %s s | `eeg_arousal_ratio`, `eeg_arousal_delay` |\n",
		RuleEEGArousal, Priority(RuleEEGArousal), d.EEGArousalRatio, float64(ArousalHeartRateBPM), sec(d.EEGArousalDelay), r("safety.eeg_arousal_ratio"), r("safety.eeg_arousal_delay"))
	fmt.Fprintf(&t, "| `%s` | %s | during a merge, stability index < %g for %s | limit %s, delay %s s | `stability_min`, `stability_delay` |\n",
		RuleStabilityLow, Priority(RuleStabilityLow), d.StabilityMin, sec(d.StabilityDelay), r("safety.stability_min"), r("safety.stability_delay"))
	return t.String()
}
