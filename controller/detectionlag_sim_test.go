package controller

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim"
	"github.com/sleegation/podd/sim/scenario"
)

// lagCase is one rule's detection lag on a scenario of sim/scenarios/ (or
// text, a scenario of the test's own, named scenario). A rule on a vital
// (vital set) crosses its threshold when the scenario's true vital goes
// past limit (above it when above, else below); a rule without one
// (vitals_stale) when the oximeter's fault begins; a rule with cross when
// cross says. A merge case plays its scenario through a merge started at
// 20 s, its baseline the minute to 80 s, as the merge tests do. maxLag is
// the most lag the test accepts: half a second above the most measured
// over 10 runs (scripts/detection-lag.sh -count 10), so that a slower
// estimator, loop or watchdog fails the test.
type lagCase struct {
	rule, scenario string
	text           string
	merge          bool
	vital          func(scenario.Vitals) float64
	reported       func(Vitals) *float64
	limit          func(safety.Limits) float64
	above          bool
	cross          func(*scenario.Scenario) time.Duration
	// crossOn, when set, is the crossing of a threshold set by the
	// session's baseline as the pod captured it (the rule's threshold),
	// read after the run; cross then gives the crossing of the
	// scenario's own baseline, for the run's length and the log.
	crossOn func(*scenario.Scenario, Baseline) time.Duration
	// wander, when set, is added to the scenario's vital at each time:
	// the simulator's own part of the sleeper's signal
	// (sim.SkinTempWander).
	wander func(time.Duration) float64
	delay  func(safety.Limits) time.Duration
	maxLag time.Duration
	// undated marks a rule whose onset is not dated back to the time its
	// value describes (sensor_stale): its delay starts at the evaluation
	// that sees its condition. earliest, set for it and for the rules
	// whose values' dating rests on a windowed estimate of more than one
	// signal (eeg_arousal, stability_low), is the early bound (see
	// minLag).
	undated  bool
	earliest time.Duration
}

var (
	trueHR       = func(v scenario.Vitals) float64 { return v.HeartRateBPM }
	trueSpO2     = func(v scenario.Vitals) float64 { return v.SpO2Pct }
	reportedHR   = func(v Vitals) *float64 { return v.HeartRateBPM }
	reportedSpO2 = func(v Vitals) *float64 { return v.SpO2Pct }
)

var lagCases = []lagCase{
	{rule: safety.RuleHeartRateHigh, scenario: "tachycardia", vital: trueHR, reported: reportedHR, above: true,
		limit:  func(l safety.Limits) float64 { return l.HeartRateHighBPM },
		delay:  func(l safety.Limits) time.Duration { return l.HeartRateDelay },
		maxLag: 500 * time.Millisecond},
	{rule: safety.RuleHeartRateLow, scenario: "bradycardia", vital: trueHR, reported: reportedHR,
		limit:  func(l safety.Limits) float64 { return l.HeartRateLowBPM },
		delay:  func(l safety.Limits) time.Duration { return l.HeartRateDelay },
		maxLag: 700 * time.Millisecond},
	{rule: safety.RuleSpO2Low, scenario: "desaturation-slow", vital: trueSpO2, reported: reportedSpO2,
		limit:  func(l safety.Limits) float64 { return l.SpO2LowPct },
		delay:  func(l safety.Limits) time.Duration { return l.SpO2Delay },
		maxLag: 1400 * time.Millisecond},
	{rule: safety.RuleSpO2Critical, scenario: "desaturation-deep", vital: trueSpO2, reported: reportedSpO2,
		limit:  func(l safety.Limits) float64 { return l.SpO2CriticalPct },
		delay:  func(l safety.Limits) time.Duration { return l.SpO2CriticalDelay },
		maxLag: 1300 * time.Millisecond},
	{rule: safety.RuleVitalsStale, scenario: "sensor-loss",
		delay:  func(l safety.Limits) time.Duration { return l.StaleAfter },
		maxLag: 500 * time.Millisecond},
	{rule: safety.RuleTempHigh, scenario: "fever", text: feverNight, vital: trueTemp, wander: skinWander, above: true,
		limit:  func(l safety.Limits) float64 { return l.TemperatureHighC },
		delay:  func(l safety.Limits) time.Duration { return l.TemperatureDelay },
		maxLag: 1500 * time.Millisecond},
	{rule: safety.RuleTempLow, scenario: "cooling", text: coolingNight, vital: trueTemp, wander: skinWander,
		limit:  func(l safety.Limits) float64 { return l.TemperatureLowC },
		delay:  func(l safety.Limits) time.Duration { return l.TemperatureDelay },
		maxLag: 1300 * time.Millisecond},
	{rule: safety.RuleHeartRateRise, scenario: "rise-merge", text: riseMergeNight, merge: true, vital: trueHR, reported: reportedHR, above: true,
		cross: func(sc *scenario.Scenario) time.Duration {
			rise := sc.VitalsAt(0).HeartRateBPM + safety.DefaultLimits().HeartRateRiseBPM
			return first(func(d time.Duration) bool { return sc.VitalsAt(d).HeartRateBPM > rise })
		},
		delay:  func(l safety.Limits) time.Duration { return l.HeartRateDelay },
		maxLag: 800 * time.Millisecond},
	{rule: safety.RuleEEGArousal, scenario: "eeg-arousal-merge", merge: true, cross: eegArousalCrossing, crossOn: eegArousalCrossingOn,
		delay:  func(l safety.Limits) time.Duration { return l.EEGArousalDelay },
		maxLag: 1100 * time.Millisecond, earliest: 100 * time.Millisecond},
	{rule: safety.RuleStress, scenario: "stress-merge", merge: true, cross: stressCrossing,
		delay:  func(l safety.Limits) time.Duration { return l.StressDelay },
		maxLag: 700 * time.Millisecond},
	{rule: safety.RuleStabilityLow, scenario: "nightmare-merge", merge: true, cross: stabilityCrossing,
		delay:  func(l safety.Limits) time.Duration { return l.StabilityDelay },
		maxLag: 600 * time.Millisecond, earliest: -400 * time.Millisecond},
	{rule: safety.RuleSensorStale, scenario: "eeg-leadoff-merge", merge: true,
		cross: func(sc *scenario.Scenario) time.Duration {
			return first(func(d time.Duration) bool { return sc.FaultAt(scenario.DeviceADS1299, d) != "" })
		},
		delay:  func(l safety.Limits) time.Duration { return l.StaleAfter },
		maxLag: 600 * time.Millisecond, undated: true, earliest: -400 * time.Millisecond},
}

// The test's own nights, for the rules no scenario of sim/scenarios/
// drives: a fever (the core 36.6 to 39 °C over 3 min, as in
// TestAFeverAbortsWithItsValues, slower than the thermometer's estimator's
// 1 °C a minute), a cooling (36.6 to 34 °C over 3 min) and, during a
// merge, a rise of the heart from the baseline's 60 to 105 bpm in 9 s
// (5 bpm/s: past heart_rate_rise's 40 bpm, short of heart_rate_high's 130,
// the stability index, 45 bpm up alone, above 0.3).
const (
	feverNight = `
name: fever
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 1m, ramp: 3m, set: {body_temp_c: 39}}
`
	coolingNight = `
name: cooling
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6}
timeline:
  - {at: 1m, ramp: 3m, set: {body_temp_c: 34}}
`
	riseMergeNight = `
name: rise-merge
baseline: {heart_rate_bpm: 60, spo2_pct: 97, skin_conductance_us: 2.0, body_temp_c: 36.6, eeg: {stage: awake}}
timeline:
  - {at: 2m, ramp: 9s, set: {heart_rate_bpm: 105}}
`
)

var (
	trueTemp   = func(v scenario.Vitals) float64 { return v.BodyTempC }
	skinWander = sim.SkinTempWander.Celsius()
)

// heartUp reports whether the scenario's heart at d is more than
// safety.ArousalHeartRateBPM above its baseline (the scenario's at 0), as
// stress and eeg_arousal require.
func heartUp(sc *scenario.Scenario, d time.Duration) bool {
	return sc.VitalsAt(d).HeartRateBPM-sc.VitalsAt(0).HeartRateBPM > safety.ArousalHeartRateBPM
}

// betaAlpha is the scenario's beta/alpha ratio at d over its baseline's:
// the sleeper's EEG itself, not an estimator's span of it.
func betaAlpha(sc *scenario.Scenario, d time.Duration) float64 {
	b, v := sc.VitalsAt(0).EEG, sc.VitalsAt(d).EEG
	return v.Beta / v.Alpha / (b.Beta / b.Alpha)
}

// eegArousalCrossing is when the sleeper's beta/alpha passes
// EEGArousalRatio times the baseline's with the heart up.
func eegArousalCrossing(sc *scenario.Scenario) time.Duration {
	ratio := safety.DefaultLimits().EEGArousalRatio
	return first(func(d time.Duration) bool { return betaAlpha(sc, d) > ratio && heartUp(sc, d) })
}

// eegArousalCrossingOn is when the sleeper's beta/alpha passes
// EEGArousalRatio times the session baseline's as the pod measured it,
// with the heart more than ArousalHeartRateBPM above the baseline's
// heart rate: eeg_arousal's threshold on this pod.
func eegArousalCrossingOn(sc *scenario.Scenario, b Baseline) time.Duration {
	if b.EEGBetaAlpha == nil {
		return -1
	}
	l := safety.DefaultLimits()
	return first(func(d time.Duration) bool {
		v := sc.VitalsAt(d)
		return v.EEG.Beta/v.EEG.Alpha > l.EEGArousalRatio**b.EEGBetaAlpha &&
			v.HeartRateBPM-b.HeartRateBPM > safety.ArousalHeartRateBPM
	})
}

// stressCrossing is when the sleeper's skin has begun StressSCRPerMin
// responses within the last minute with the heart up.
func stressCrossing(sc *scenario.Scenario) time.Duration {
	var onsets []time.Duration
	for e := range sc.EventsBetween(0, sc.Duration()).All() {
		if e.Kind == scenario.EventSCR {
			onsets = append(onsets, e.At)
		}
	}
	n := int(safety.DefaultLimits().StressSCRPerMin)
	return first(func(d time.Duration) bool {
		count := 0
		for _, at := range onsets {
			if at <= d && at > d-time.Minute {
				count++
			}
		}
		return count >= n && heartUp(sc, d)
	})
}

// stabilityCrossing is when the stability index of the sleeper's own
// values (the heart's rise, the tonic skin conductance over the
// baseline's, the EEG's beta/alpha over the baseline's) falls below
// StabilityMin.
func stabilityCrossing(sc *scenario.Scenario) time.Duration {
	base := sc.VitalsAt(0)
	return first(func(d time.Duration) bool {
		v := sc.VitalsAt(d)
		return safety.Stability(safety.Deviations{
			HeartRateBPM:         v.HeartRateBPM - base.HeartRateBPM,
			SkinConductanceRatio: v.SkinConductanceUS / base.SkinConductanceUS,
			BetaAlphaRatio:       betaAlpha(sc, d),
		}) < safety.DefaultLimits().StabilityMin
	})
}

// fmtBaseline shows a session baseline's heart rate and EEG ratio.
func fmtBaseline(b Baseline) string {
	ratio := "none"
	if b.EEGBetaAlpha != nil {
		ratio = fmt.Sprintf("%.3f", *b.EEGBetaAlpha)
	}
	return fmt.Sprintf("heart %.1f bpm, beta/alpha %s", b.HeartRateBPM, ratio)
}

// minLag is the least lag accepted for c, the oximeter polled every poll.
// A rule on a vital trips at the end of its alarm delay, which runs from
// its onset: the time the first reading past its threshold describes (the
// midpoint of the beats its value was measured over), which the true
// vital reached at or after the crossing, being past the threshold. It
// can be early only by the error of that date: the estimate's error on a
// ramp (half a bpm at 10 bpm/s, 0.05 s) and a sample's quantisation (40
// ms at 25 Hz), within one watchdog period (safety.DefaultPeriod).
// Earlier is an alarm delay cut short (dated back further than the
// value's age), or a crossing the estimator reports before the signal
// makes it, and fails. vitals_stale counts from the last valid reading,
// up to a poll before the sensor was lost, and its fault begins between
// the oximeter's reads: it keeps half a second (minStaleLag). The
// thermometer's mean and the skin's response onsets are dated as the
// oximeter's values are, and keep one period. sensor_stale (undated)
// starts its delay at the evaluation that sees its condition; eeg_arousal
// and stability_low date theirs from estimates over several signals (the
// EEG's 8 s of segments, a new one every 2 s, the index's vitals), whose
// error on a ramp is not one number: for those three the early bound
// (earliest) is half a second below the least measured over 10 runs, so
// that a delay cut short by half a second fails.
func (c lagCase) minLag(time.Duration) time.Duration {
	switch {
	case c.undated || c.earliest != 0:
		return c.earliest
	case c.stale():
		return minStaleLag
	}
	return -safety.DefaultPeriod
}

// stale reports whether c is vitals_stale's case: no vital, no crossing
// of its own (the oximeter's fault begins).
func (c lagCase) stale() bool { return c.vital == nil && c.cross == nil }

// minStaleLag is vitals_stale's minLag.
const minStaleLag = -500 * time.Millisecond

// checkLag reports a lag outside c's bounds, the oximeter polled every
// poll.
func (c lagCase) checkLag(lag, poll time.Duration) error {
	if lo := c.minLag(poll); lag < lo || lag > c.maxLag {
		return fmt.Errorf("lag %v, want within %v..%v", lag, lo, c.maxLag)
	}
	return nil
}

// past reports whether x is past y in c's direction (x == y is not).
func (c lagCase) past(x, y float64) bool {
	if c.above {
		return x > y
	}
	return x < y
}

// first is the first millisecond after the start at which cond holds,
// within ten minutes; -1 if it never does.
func first(cond func(time.Duration) bool) time.Duration {
	for d := time.Duration(0); d < 10*time.Minute; d += time.Millisecond {
		if cond(d) {
			return d
		}
	}
	return -1
}

// crossing is when c's threshold is crossed in the scenario.
func (c lagCase) crossing(sc *scenario.Scenario) time.Duration {
	if c.cross != nil {
		return c.cross(sc)
	}
	if c.vital == nil {
		return first(func(d time.Duration) bool { return sc.FaultAt(scenario.DeviceMAX30102, d) != "" })
	}
	limit := c.limit(safety.DefaultLimits())
	return first(func(d time.Duration) bool { return c.past(c.trueValue(sc, d), limit) })
}

// trueValue is c's vital in the sleeper at d: the scenario's, with the
// simulator's wander when c has one.
func (c lagCase) trueValue(sc *scenario.Scenario, d time.Duration) float64 {
	v := c.vital(sc.VitalsAt(d))
	if c.wander != nil {
		v += c.wander(d)
	}
	return v
}

// trueAt is when the scenario's true vital first reached v (went as far
// as v in c's direction): the moment a reported value v describes, on a
// scenario that moves one way.
func (c lagCase) trueAt(sc *scenario.Scenario, v float64) time.Duration {
	return first(func(d time.Duration) bool { return !c.past(v, c.trueValue(sc, d)) })
}

// Detection lag through the pod (the four simulated chips read by their
// drivers on their sensing loops as cmd/podd reads them, the real
// estimators and watchdog, testing/synctest's fake clock), one rule
// per scenario of sim/scenarios/ (or of the test's own): the time from the moment the simulated
// vital crosses the rule's threshold to the abort, minus the rule's alarm
// delay. For the rules on a vital it gives the time until the watchdog
// first saw the condition (the estimator's lag, the oximeter's polling),
// the age of the value the pod reported then (how long before then the
// true vital had that value), the onset the watchdog dated the condition
// at (the time that value describes) and the time from the end of the
// delay counted from that onset to the abort (an evaluation's wait, or
// the rest of safety.MinConditionSeen from the sight). For the others
// but vitals_stale (the thermometer's, the skin's, the EEG's, the index)
// it gives the onset (the time the values that show the condition
// describe, or for sensor_stale the evaluation that saw it) after the
// crossing, and the time from the end of the delay counted from it to
// the abort. The merge-only rules (heart_rate_rise, stress,
// eeg_arousal, stability_low, sensor_stale) play their scenario through a
// merge started at 20 s, as the merge tests do. Each scenario aborts with
// its rule, its lag within the case's minLag and maxLag, a rule on a
// reported vital not before the condition was seen for MinConditionSeen
// (or the delay, if shorter), the others their delay after their onset,
// within an evaluation. scripts/detection-lag.sh prints the logged lines
// as a table.
func TestDetectionLag(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	for _, c := range lagCases {
		t.Run(c.rule, func(t *testing.T) {
			file := ""
			sc, err := scenario.Parse([]byte(c.text))
			if c.text == "" {
				file = "../sim/scenarios/" + c.scenario + ".yaml"
				sc, err = scenario.Load(file)
			}
			if err != nil {
				t.Fatal(err)
			}
			crossed := c.crossing(sc)
			if crossed < 0 {
				t.Fatalf("%s: the threshold of %s is never crossed", c.scenario, c.rule)
			}
			delay := c.delay(safety.DefaultLimits())
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				opts := rigOpts{simSensors: allSimSensors, scenarioFile: file}
				var r *rig
				if c.merge {
					r = mergedRigWith(t, start, c.text, opts)
				} else {
					r = newRigWith(t, c.text, &memStore{}, opts)
				}
				defer r.stop()
				// The rules on a reported vital are watched every
				// evaluation, for when their condition was first seen;
				// the others every second, until they latch (the abort
				// carries its own time).
				step := time.Second
				if c.reported != nil {
					step = safety.DefaultPeriod
				}
				var seen time.Duration = -1 // when the watchdog's alarm condition was first seen running
				var value *float64          // the value reported then
				var latched *safety.Abort
				for d := time.Since(start).Truncate(step) + step; d <= crossed+delay+c.maxLag+time.Second; d += step {
					until(start, d)
					st := r.pod.wd.Status()
					if seen < 0 && c.reported != nil && slices.Contains(st.Pending, c.rule) {
						seen, value = d, c.reported(r.pod.Status().Vitals)
					}
					if latched = st.Latched; latched != nil {
						break
					}
				}
				if latched == nil {
					t.Fatalf("%s: no abort within %v past the threshold (%v) and the delay (%v)", c.scenario, c.maxLag+time.Second, crossed, delay)
				}
				if latched.Rule != c.rule {
					t.Fatalf("%s: abort %s (%s), want %s", c.scenario, latched.Rule, latched.Detail, c.rule)
				}
				abort := latched.At.Sub(start)
				if c.crossOn != nil {
					b := sessionBaseline(t, r.up)
					nominal := crossed
					if crossed = c.crossOn(sc, b); crossed < 0 {
						t.Fatalf("%s: the threshold of %s on the session's baseline %+v is never crossed", c.scenario, c.rule, b)
					}
					t.Logf("%s: on the scenario's baseline the threshold is crossed at %.3f s; on the pod's (%s), at %.3f s",
						c.rule, nominal.Seconds(), fmtBaseline(b), crossed.Seconds())
				}
				lag := abort - crossed - delay
				onset := latched.Began.Sub(start)
				split := ""
				switch {
				case c.reported != nil:
					if seen < 0 || value == nil {
						t.Fatalf("%s: %s tripped without its alarm delay seen running on a reported value", c.scenario, c.rule)
					}
					age := seen - c.trueAt(sc, *value)
					split = fmt.Sprintf(" (seen %.1f s after the crossing; the value then, %.1f, was %.1f s old; onset %.2f s after the crossing, tripped %.2f s after the delay from it)",
						(seen - crossed).Seconds(), *value, age.Seconds(), (onset - crossed).Seconds(), (abort - onset - delay).Seconds())
					// The floor: the status is read at each period, so
					// the condition was seen at most a period before the
					// test saw it pending.
					if floor := min(safety.MinConditionSeen, delay); abort-seen < floor-safety.DefaultPeriod {
						t.Errorf("%s: tripped %v after the condition was seen, want at least %v (MinConditionSeen)", c.scenario, abort-seen, floor)
					}
				case !c.stale():
					// Its delay runs from its onset: the evaluation that
					// saw the condition, or the time the value seen then
					// describes.
					split = fmt.Sprintf(" (onset %.2f s after the crossing, tripped %.2f s after the delay from it)",
						(onset - crossed).Seconds(), (abort - onset - delay).Seconds())
					tripAfter(t, onset, abort, delay)
				}
				t.Logf("detection-lag %s %s: crossed %.3f s, abort %.3f s, delay %.0f s, lag %.3f s%s",
					c.rule, c.scenario, crossed.Seconds(), abort.Seconds(), delay.Seconds(), lag.Seconds(), split)
				if err := c.checkLag(lag, r.pod.cfg.SensorPeriod); err != nil {
					t.Errorf("%s: %v", c.scenario, err)
				}
			})
		})
	}
}

// The early bound of a rule on a vital is one watchdog period (its onset
// dated that much before the true vital reached the value): a lag of
// -100 ms passes, a millisecond more does not, nor a trip half a second
// early (an alarm delay shortened by 500 ms beyond the value's age);
// vitals_stale keeps half a second. A rule with an earliest (sensor_stale,
// eeg_arousal, stability_low) has that: it passes, a millisecond less does
// not.
func TestDetectionLagEarlyBounds(t *testing.T) {
	const poll = 200 * time.Millisecond
	for _, c := range lagCases {
		early := -safety.DefaultPeriod
		switch {
		case c.undated || c.earliest != 0:
			early = c.earliest
		case c.stale():
			early = minStaleLag
		}
		if err := c.checkLag(early, poll); err != nil {
			t.Errorf("%s: %v; want %v accepted", c.rule, err, early)
		}
		if err := c.checkLag(early-time.Millisecond, poll); err == nil {
			t.Errorf("%s: lag %v accepted, want refused", c.rule, early-time.Millisecond)
		}
		if c.undated || c.earliest != 0 {
			continue
		}
		if err := c.checkLag(-500*time.Millisecond, poll); (err == nil) != c.stale() {
			t.Errorf("%s: lag -500ms: %v", c.rule, err)
		}
	}
}
