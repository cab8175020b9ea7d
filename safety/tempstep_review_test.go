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
// midpoint, temp.Reading.Age (4.5 s) before the feed, the time it
// describes on a ramp; on a step that is 4.5 s before the first sample
// past the limit. The package doc ("Dated onsets") bounds it: never more
// than the mean's age before the step, so the 60 s delay is never cut by
// more than that. Fed from the real estimator at 1 Hz; core offset 2 °C,
// the thermometer at 33.2 (core 35.2) then 31.0 (core 33.0), a step slow
// enough in its rate fit (0.85 °C/min) for the first mean past the limit
// to be valid.
func TestTemperatureDatesAStepAtMostItsMeansAgeEarly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarnessWith(t, DefaultLimits(), Options{CoreOffsetC: 2})
		e, err := temp.New(1)
		if err != nil {
			t.Fatal(err)
		}
		sample := func(c float64, d time.Duration) {
			for end := time.Now().Add(d); time.Now().Before(end); {
				e.Add(c)
				r := e.Estimate()
				r.At = time.Now()
				h.w.FeedBodyTemp(r)
				h.w.Feed(reading(60, 97)) // wakes the watchdog
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
		if early := step.Sub(a.Began); early != 4500*time.Millisecond || a.At.Sub(step) < 55500*time.Millisecond {
			t.Errorf("temperature_low began %v before the step that took the core past the limit (tripped %v after it), want the mean's age, 4.5 s",
				early, a.At.Sub(step))
		}
	})
}
