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

// lagCase is one rule's detection lag on a scenario of sim/scenarios/:
// when the simulated vital crosses the rule's threshold (from the
// scenario itself), the rule's alarm delay, and the most lag the test
// accepts: half a second above the most measured over 10 runs
// (scripts/detection-lag.sh -count 10), so that a slower estimator, loop
// or watchdog fails the test.
type lagCase struct {
	rule, scenario string
	crosses        func(scenario.Vitals, string) bool // the true vitals, the oximeter's fault
	delay          func(safety.Limits) time.Duration
	maxLag         time.Duration
}

var lagCases = []lagCase{
	{safety.RuleHeartRateHigh, "tachycardia",
		func(v scenario.Vitals, _ string) bool {
			return v.HeartRateBPM > safety.DefaultLimits().HeartRateHighBPM
		},
		func(l safety.Limits) time.Duration { return l.HeartRateDelay }, 2500 * time.Millisecond},
	{safety.RuleHeartRateLow, "bradycardia",
		func(v scenario.Vitals, _ string) bool { return v.HeartRateBPM < safety.DefaultLimits().HeartRateLowBPM },
		func(l safety.Limits) time.Duration { return l.HeartRateDelay }, 3500 * time.Millisecond},
	{safety.RuleSpO2Low, "desaturation-slow",
		func(v scenario.Vitals, _ string) bool { return v.SpO2Pct < safety.DefaultLimits().SpO2LowPct },
		func(l safety.Limits) time.Duration { return l.SpO2Delay }, 3500 * time.Millisecond},
	{safety.RuleSpO2Critical, "desaturation-deep",
		func(v scenario.Vitals, _ string) bool { return v.SpO2Pct < safety.DefaultLimits().SpO2CriticalPct },
		func(l safety.Limits) time.Duration { return l.SpO2CriticalDelay }, 2500 * time.Millisecond},
	{safety.RuleVitalsStale, "sensor-loss",
		func(_ scenario.Vitals, fault string) bool { return fault != "" },
		func(l safety.Limits) time.Duration { return l.StaleAfter }, 500 * time.Millisecond},
}

// minLag is the least lag accepted: vitals_stale counts from the last
// valid reading, up to a poll (200 ms) before the sensor was lost; no
// rule may trip half a second before its threshold and delay are past.
const minLag = -500 * time.Millisecond

// crossing is the first millisecond after the start at which c's
// condition holds on the scenario's true vitals and the oximeter's fault.
func (c lagCase) crossing(t *testing.T, sc *scenario.Scenario) time.Duration {
	t.Helper()
	for d := time.Duration(0); d < 10*time.Minute; d += time.Millisecond {
		if c.crosses(sc.VitalsAt(d), sc.FaultAt(scenario.DeviceMAX30102, d)) {
			return d
		}
	}
	t.Fatalf("%s: the threshold of %s is never crossed", c.scenario, c.rule)
	return 0
}

// Detection lag through the pod (the four simulated chips read by their
// drivers on their sensing loops as cmd/podd reads them, the real
// estimator and watchdog, testing/synctest's fake clock), one rule
// per scenario of sim/scenarios/: the time from the moment the simulated
// vital crosses the rule's threshold to the abort, minus the rule's alarm
// delay. For the rules with an alarm delay it splits into the time until
// the watchdog's delay began (the estimator's lag, the oximeter's polling
// and the watchdog's tick) and the time from the end of the delay to the
// abort (the watchdog's tick). Each scenario aborts with its rule, its
// lag within minLag and the case's bound. scripts/detection-lag.sh prints
// the logged lines as a table.
func TestDetectionLag(t *testing.T) {
	for _, c := range lagCases {
		t.Run(c.rule, func(t *testing.T) {
			file := "../sim/scenarios/" + c.scenario + ".yaml"
			sc, err := scenario.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			crossed := c.crossing(t, sc)
			delay := c.delay(safety.DefaultLimits())
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				r := newRigWith(t, "", &memStore{}, rigOpts{simSensors: allSimSensors, scenarioFile: file})
				defer r.stop()
				var began time.Duration = -1 // when the watchdog's alarm delay began
				var latched *safety.Abort
				for d := safety.DefaultPeriod; d <= crossed+delay+10*time.Second; d += safety.DefaultPeriod {
					until(start, d)
					st := r.pod.wd.Status()
					if began < 0 && slices.Contains(st.Pending, c.rule) {
						began = d
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
				if c.rule != safety.RuleVitalsStale {
					if began < 0 {
						t.Fatalf("%s: %s tripped without its alarm delay seen running", c.scenario, c.rule)
					}
					split = fmt.Sprintf(" (delay began %.1f s after the crossing, tripped %.1f s after the delay)",
						(began - crossed).Seconds(), (abort - began - delay).Seconds())
				}
				t.Logf("detection-lag %s %s: crossed %.3f s, abort %.3f s, delay %.0f s, lag %.3f s%s",
					c.rule, c.scenario, crossed.Seconds(), abort.Seconds(), delay.Seconds(), lag.Seconds(), split)
				if lag < minLag || lag > c.maxLag {
					t.Errorf("%s: lag %v, want within %v..%v", c.scenario, lag, minLag, c.maxLag)
				}
			})
		})
	}
}
