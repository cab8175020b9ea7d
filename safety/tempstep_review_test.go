package safety

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/vitals/temp"
)

// A thermometer whose reading steps down (a probe lifting off the skin, a
// blanket pulled away) moves the estimator's 10 s mean past the limit on
// the first sample after the step. The mean's midpoint, temp.Reading.Age
// (4.5 s) before the feed, is the time it describes on a ramp, but 4.5 s
// before the step here. temperature_low's onset is never dated before the
// newest sample within the limit (temp.Reading.Recent): the last sample
// before the step, one sample period (1 s at 1 Hz) before it, so the 60 s
// delay is cut by at most that. Fed from the real estimator at 1 Hz; core
// offset 2 °C, the thermometer at 33.2 (core 35.2) then 31.0 (core 33.0),
// a step slow enough in its rate fit (0.85 °C/min) for the first mean past
// the limit to be valid.
func TestTemperatureDatesAStepAtMostASampleEarly(t *testing.T) {
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
		if !a.Began.Equal(step.Add(-time.Second)) || a.At.Sub(step) < 59*time.Second {
			t.Errorf("temperature_low began %v after the step that took the core past the limit (tripped %v after it), want at the last sample within the limit, 1 s before it",
				a.Began.Sub(step), a.At.Sub(step))
		}
	})
}
