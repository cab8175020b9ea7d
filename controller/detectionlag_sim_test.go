package controller

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/sim/scenario"
)

// lagCase is one rule's detection lag on a scenario of sim/scenarios/. A
// rule on a vital (vital set) crosses its threshold when the scenario's
// true vital goes past limit (above it when above, else below); a rule
// without one (vitals_stale) when the oximeter's fault begins. maxLag is
// the most lag the test accepts: half a second above the most measured
// over 10 runs (scripts/detection-lag.sh -count 10), so that a slower
// estimator, loop or watchdog fails the test.
type lagCase struct {
	rule, scenario string
	vital          func(scenario.Vitals) float64
	reported       func(Vitals) *float64
	limit          func(safety.Limits) float64
	above          bool
	delay          func(safety.Limits) time.Duration
	maxLag         time.Duration
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
// the oximeter's reads: it keeps half a second (minStaleLag).
func (c lagCase) minLag(time.Duration) time.Duration {
	if c.vital == nil {
		return minStaleLag
	}
	return -safety.DefaultPeriod
}

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
	if c.vital == nil {
		return first(func(d time.Duration) bool { return sc.FaultAt(scenario.DeviceMAX30102, d) != "" })
	}
	limit := c.limit(safety.DefaultLimits())
	return first(func(d time.Duration) bool { return c.past(c.vital(sc.VitalsAt(d)), limit) })
}

// trueAt is when the scenario's true vital first reached v (went as far
// as v in c's direction): the moment a reported value v describes, on a
// scenario that moves one way.
func (c lagCase) trueAt(sc *scenario.Scenario, v float64) time.Duration {
	return first(func(d time.Duration) bool { return !c.past(v, c.vital(sc.VitalsAt(d))) })
}

// Detection lag through the pod (the four simulated chips read by their
// drivers on their sensing loops as cmd/podd reads them, the real
// estimator and watchdog, testing/synctest's fake clock), one rule
// per scenario of sim/scenarios/: the time from the moment the simulated
// vital crosses the rule's threshold to the abort, minus the rule's alarm
// delay. For the rules on a vital it gives the time until the watchdog
// first saw the condition (the estimator's lag, the oximeter's polling),
// the age of the value the pod reported then (how long before then the
// true vital had that value), the onset the watchdog dated the condition
// at (the time that value describes) and the time from the end of the
// delay counted from that onset to the abort (an evaluation's wait, or
// the rest of safety.MinConditionSeen from the sight). Each scenario
// aborts with its rule, its lag within the case's minLag and maxLag, and
// not before the condition was seen for MinConditionSeen (or the delay,
// if shorter). scripts/detection-lag.sh prints the logged lines as a
// table.
func TestDetectionLag(t *testing.T) {
	if testing.Short() {
		t.Skip("minutes of simulated sensors through the pod: the race pass runs it, the short (armv7 emulated) pass leaves it out")
	}
	for _, c := range lagCases {
		t.Run(c.rule, func(t *testing.T) {
			file := "../sim/scenarios/" + c.scenario + ".yaml"
			sc, err := scenario.Load(file)
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
				r := newRigWith(t, "", &memStore{}, rigOpts{simSensors: allSimSensors, scenarioFile: file})
				defer r.stop()
				var seen time.Duration = -1 // when the watchdog's alarm condition was first seen running
				var value *float64          // the value reported then
				var latched *safety.Abort
				for d := safety.DefaultPeriod; d <= crossed+delay+10*time.Second; d += safety.DefaultPeriod {
					until(start, d)
					st := r.pod.wd.Status()
					if seen < 0 && slices.Contains(st.Pending, c.rule) {
						seen, value = d, c.reported(r.pod.Status().Vitals)
					}
					if latched = st.Latched; latched != nil {
						break
					}
				}
				if latched == nil {
					t.Fatalf("%s: no abort within 10 s past the threshold (%v) and the delay (%v)", c.scenario, crossed, delay)
				}
				if latched.Rule != c.rule {
					t.Fatalf("%s: abort %s (%s), want %s", c.scenario, latched.Rule, latched.Detail, c.rule)
				}
				abort := latched.At.Sub(start)
				lag := abort - crossed - delay
				split := ""
				if c.vital != nil {
					if seen < 0 || value == nil {
						t.Fatalf("%s: %s tripped without its alarm delay seen running on a reported value", c.scenario, c.rule)
					}
					age := seen - c.trueAt(sc, *value)
					onset := latched.Began.Sub(start)
					split = fmt.Sprintf(" (seen %.1f s after the crossing; the value then, %.1f, was %.1f s old; onset %.2f s after the crossing, tripped %.2f s after the delay from it)",
						(seen - crossed).Seconds(), *value, age.Seconds(), (onset - crossed).Seconds(), (abort - onset - delay).Seconds())
					// The floor: the status is read at each period, so
					// the condition was seen at most a period before the
					// test saw it pending.
					if floor := min(safety.MinConditionSeen, delay); abort-seen < floor-safety.DefaultPeriod {
						t.Errorf("%s: tripped %v after the condition was seen, want at least %v (MinConditionSeen)", c.scenario, abort-seen, floor)
					}
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
// vitals_stale keeps half a second.
func TestDetectionLagEarlyBounds(t *testing.T) {
	const poll = 200 * time.Millisecond
	for _, c := range lagCases {
		early := -safety.DefaultPeriod
		if c.vital == nil {
			early = minStaleLag
		}
		if err := c.checkLag(early, poll); err != nil {
			t.Errorf("%s: %v; want %v accepted", c.rule, err, early)
		}
		if err := c.checkLag(early-time.Millisecond, poll); err == nil {
			t.Errorf("%s: lag %v accepted, want refused", c.rule, early-time.Millisecond)
		}
		if err := c.checkLag(-500*time.Millisecond, poll); (err == nil) != (c.vital == nil) {
			t.Errorf("%s: lag -500ms: %v", c.rule, err)
		}
	}
}
