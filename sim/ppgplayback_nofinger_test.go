package sim

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/max30102"
	"github.com/sleegation/podd/sensors/vitals"
	"github.com/sleegation/podd/sim/scenario"
)

// ppg-no-finger.yaml plays HeartPy's data2.csv, whose first ~46 s are
// recorded with no finger on the sensor (recordings/README.md). Through
// the real driver and estimator the pod must see an empty sensor then
// (contact none: an empty pod never latches), not skin with a pulse it
// cannot read: that is what makes podd latch vitals_stale 20 s after its
// start on an idle pod with this scenario.
func TestPPGNoFingerRecordingShowsNoContact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sc, err := scenario.Load("scenarios/ppg-no-finger.yaml")
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		hw, err := NewHardware(sc, 60, t0, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var run sync.WaitGroup
		run.Go(func() { _ = hw.Run(ctx) })
		defer func() { cancel(); run.Wait() }()

		dev, err := max30102.New(hw.I2C, &max30102.DefaultOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer dev.Halt()
		est := vitals.NewEstimator(dev.SampleRate())
		buf := make([]max30102.Sample, max30102.FIFODepth)
		seen := map[vitals.Contact]int{}
		for time.Since(t0) < 40*time.Second {
			time.Sleep(200 * time.Millisecond)
			n, _, err := dev.ReadFIFO(buf)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range buf[:n] {
				est.Add(s.Red, s.IR)
			}
			if time.Since(t0) >= 20*time.Second {
				seen[est.Estimate().Contact]++
			}
		}
		if seen[vitals.ContactNone] == 0 || len(seen) != 1 {
			t.Errorf("20-40 s into a recording with no finger on the sensor: contact %v (reads by contact), want only none", seen)
		}
	})
}
