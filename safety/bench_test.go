package safety

import (
	"context"
	"slices"
	"testing"

	"github.com/sleegation/podd/sensors/vitals"
)

// nopActuators is a SafeStater that does nothing: the evaluation's cost
// is measured without any actuator's.
type nopActuators struct{}

func (nopActuators) SafeStateContext(context.Context) error { return nil }

// armedWatchdog is a watchdog with every rule armed: a merge under way,
// three sensors watched (healthy), the start-up grace over.
func armedWatchdog(tb testing.TB) *Watchdog {
	tb.Helper()
	l := DefaultLimits()
	l.StartupGrace = 0
	w, err := New(l, nopActuators{}, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	w.WatchSensors(newSensor("ads1299"), newSensor("ads1115"), newSensor("tmp117"))
	w.SetMerge(true)
	return w
}

// evaluationReadings are the readings of the evaluation's benchmark and
// its allocation test, fed in turn: within every limit ("in range"), and
// alternately past the heart-rate-high and SpO2-low limits and back past
// their deadbands ("crossing": two alarm delays start and clear on every
// other reading, so the pending map is written on every reading).
var evaluationReadings = []struct {
	name string
	rs   []vitals.Reading
}{
	{"in-range", []vitals.Reading{reading(60, 97)}},
	{"crossing", []vitals.Reading{reading(135, 88), reading(120, 95)}},
}

// BenchmarkEvaluate is the cost of one reading: Feed, then one
// evaluation of every rule (heart rate high and low, SpO2 low and
// critical, vitals_stale, sensor_stale over three sensors) and of the
// evidence of safety, as the watchdog's tick does it. No rule trips: in
// "crossing" each alarm delay restarts on every other reading.
func BenchmarkEvaluate(b *testing.B) {
	for _, tc := range evaluationReadings {
		b.Run(tc.name, func(b *testing.B) {
			w := armedWatchdog(b)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				w.Feed(tc.rs[i%len(tc.rs)])
				w.evaluate()
				i++
			}
			b.StopTimer()
			if st := w.Status(); st.Latched != nil {
				b.Fatalf("latched %+v", st.Latched)
			}
		})
	}
}

// Evaluating every rule on a reading allocates nothing, whether the
// readings stay in range or start and clear alarm delays.
func TestEvaluationDoesNotAllocate(t *testing.T) {
	for _, tc := range evaluationReadings {
		t.Run(tc.name, func(t *testing.T) {
			w := armedWatchdog(t)
			// Fill the pending map once, as the first crossing would.
			for _, r := range tc.rs {
				w.Feed(r)
				w.evaluate()
			}
			i := 0
			allocs := testing.AllocsPerRun(1000, func() {
				w.Feed(tc.rs[i%len(tc.rs)])
				w.evaluate()
				i++
			})
			if allocs != 0 {
				t.Errorf("%.1f allocations per reading, want 0", allocs)
			}
			// Every rule a merge arms before its baseline is handed over
			// (the rules against the baseline: alloc_test.go).
			want := []string{RuleHeartRateHigh, RuleHeartRateLow, RuleSpO2Low, RuleSpO2Critical, RuleTempLow, RuleTempHigh,
				RuleVitalsStale, RulePipeline, RuleSensorStale}
			if st := w.Status(); st.Latched != nil || !st.Merge || !slices.Equal(st.Armed, want) {
				t.Errorf("status %+v, want nothing latched and %v armed in a merge", st, want)
			}
		})
	}
}
