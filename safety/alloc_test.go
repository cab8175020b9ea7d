package safety

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// everyRuleArmed returns a watchdog in a merge with a baseline and a
// watched sensor, fed every vital, with the delays of temperature_low and
// stress running: every rule is armed and judged on every evaluation.
func everyRuleArmed(tb testing.TB) (*Watchdog, body) {
	tb.Helper()
	w, err := New(DefaultLimits(), &fakeActuators{}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	w.WatchSensors(newSensor("ads1299"))
	b := aroused() // stress needs the heart's rise
	b.tempC, b.scr = 34.9, 12
	b.feed(w)
	w.SetMerge(true)
	w.SetBaseline(mergeBaseline)
	w.evaluate()
	return w, b
}

// Feeding every vital and evaluating every rule allocates nothing, with
// every rule armed and two delays running.
func TestFeedAndEvaluateWithEveryRuleArmedDoNotAllocate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, b := everyRuleArmed(t)
		allocs := testing.AllocsPerRun(100, func() {
			time.Sleep(DefaultPeriod)
			b.feed(w)
			w.evaluate()
		})
		st := w.Status()
		want := []string{RuleHeartRateHigh, RuleHeartRateLow, RuleSpO2Low, RuleSpO2Critical, RuleTempLow, RuleTempHigh,
			RuleVitalsStale, RulePipeline, RuleStress, RuleHeartRateRise, RuleEEGArousal, RuleStabilityLow, RuleSensorStale}
		if st.Latched != nil || !slices.Equal(st.Armed, want) || !slices.Equal(st.Pending, []string{RuleTempLow, RuleStress}) {
			t.Fatalf("status %+v, want armed %v and temperature_low, stress pending", st, want)
		}
		if allocs != 0 {
			t.Fatalf("feeding and evaluating allocate %v times per tick, want 0", allocs)
		}
	})
}

// BenchmarkEvaluateEveryRuleArmed is one evaluation of every rule, armed,
// after a feed of every vital.
func BenchmarkEvaluateEveryRuleArmed(b *testing.B) {
	w, v := everyRuleArmed(b)
	b.ReportAllocs()
	for b.Loop() {
		v.feed(w)
		w.evaluate()
	}
	if st := w.Status(); st.Latched != nil {
		b.Fatalf("latched %+v during the benchmark", st.Latched)
	}
}
