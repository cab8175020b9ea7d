package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/temp"
)

// A thermometer whose reading steps down (a probe lifting off the skin, a
// blanket pulled away) moves the estimator's 10 s mean past the limit on
// the first sample after the step. temperature_low dates that mean at its
// midpoint, temp.Reading.Age (4.5 s) before the feed, and the bound by the
// last reading within the limit is that reading's midpoint too, a second
// earlier: the onset lands 4.5 s before the first sample that was past
// the limit, before the sleeper's condition began. The 60 s delay is cut
// short by that much. Fed from the real estimator at 1 Hz; core offset
// 2 °C, the thermometer at 33.2 (core 35.2) then 31.0 (core 33.0), a step
// slow enough in its rate fit (0.85 °C/min) for the first mean past the
// limit to be valid.
func TestTemperatureOnsetNotBeforeAStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarnessWith(t, DefaultLimits(), Options{CoreOffsetC: 2})
		e, err := temp.New(1)
		if err != nil {
			t.Fatal(err)
		}
		sample := func(c float64, d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				e.Add(c)
				h.w.Feed(reading(60, 97))
				r := e.Estimate()
				r.At = time.Now()
				h.w.FeedBodyTemp(r)
				time.Sleep(500 * time.Millisecond)
				h.w.Feed(reading(60, 97))
				time.Sleep(500 * time.Millisecond)
			}
			synctest.Wait()
		}
		sample(33.2, 40*time.Second)
		if r := e.Estimate(); !r.Valid {
			t.Fatalf("before the step: %+v, want a valid reading", r)
		}
		wantNoAbort(t, h, "core 35.2 °C")
		step := time.Now() // the first sample past the limit is taken now
		sample(31.0, 90*time.Second)
		a := wantAbort(t, h, RuleTempLow, 35, nil)
		if a.Began.Before(step) {
			t.Errorf("temperature_low began %v before the step that took the core past the limit (tripped %v after the step, want no sooner than the 60 s delay)",
				step.Sub(a.Began), a.At.Sub(step))
		}
	})
}
