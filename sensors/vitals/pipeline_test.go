package vitals_test

import (
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim"
)

// The whole chain as the daemon runs it: the simulated chip on the simulated
// bus, the real driver, the estimator; the sleeper's heart rate and SpO2
// change mid-run and the finger finally leaves the sensor.
func TestPipelineReportsTheSleepersVitals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const change = 30 * time.Second
		start := time.Now()
		sleeper := func(at time.Time) (float64, float64) {
			if at.Sub(start) < change {
				return 62, 97
			}
			return 95, 91
		}
		bus := sim.NewI2CBus("sim-i2c")
		chip := sim.NewMAX30102(sleeper, 7)
		if err := bus.Attach(sim.MAX30102Addr, chip); err != nil {
			t.Fatal(err)
		}
		dev, err := max30102.New(bus, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		est := vitals.NewEstimator(dev.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)

		// poll runs the daemon's loop until d after start and returns the
		// last estimate.
		poll := func(d time.Duration) vitals.Reading {
			var r vitals.Reading
			for time.Since(start) < d {
				time.Sleep(500 * time.Millisecond)
				n, lost, err := dev.ReadFIFO(buf)
				if err != nil || lost > 0 {
					t.Fatalf("at %v: ReadFIFO = %d, %d, %v", time.Since(start), n, lost, err)
				}
				for _, s := range buf[:n] {
					est.Add(s.Red, s.IR)
				}
				r = est.Estimate()
			}
			return r
		}
		check := func(r vitals.Reading, hr, spo2 float64) {
			t.Helper()
			if !r.HeartRateValid || math.Abs(r.HeartRateBPM-hr) > 2 || !r.SpO2Valid || math.Abs(r.SpO2Pct-spo2) > 1.5 {
				t.Errorf("at %v: got %+v, want %v ± 2 bpm and %v ± 1.5 %%", time.Since(start), r, hr, spo2)
			}
		}

		check(poll(20*time.Second), 62, 97)
		// The new vitals are reported once a window holds only them.
		check(poll(change+time.Duration(vitals.WindowSeconds+1)*time.Second), 95, 91)

		chip.SetFingerPresent(false)
		off := time.Since(start)
		if r := poll(off + time.Duration(vitals.WindowSeconds)*time.Second); r.HeartRateValid || r.SpO2Valid {
			t.Errorf("a window after the finger left: got %+v, want both invalid", r)
		}
		if err := dev.Halt(); err != nil {
			t.Fatal(err)
		}
	})
}
