package sensing

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sim"
)

// lateLine is a DRDY line whose reader is late by lag once every period:
// a busy host that does not schedule the EEG's goroutine for a few
// conversions (on a 2-core host under load, 4 to 12 frames at 250 sps
// about once a second).
type lateLine struct {
	*sim.Line
	period, lag time.Duration
	next        time.Time
}

func (l *lateLine) WaitForEdge(timeout time.Duration) bool {
	if now := time.Now(); now.After(l.next) {
		l.next = now.Add(l.period)
		time.Sleep(l.lag)
	}
	return l.Line.WaitForEdge(timeout)
}

var _ gpio.PinIn = (*lateLine)(nil)

// A host that reads the EEG 20 ms late once a second (5 frames at 250 sps
// lost, 0.5 % of the signal) still gets band powers within 10 % of the
// signal's truth once the span is full: a few lost samples must not
// invalidate every 4 s segment they fall in, or a loaded pod reports an
// ok EEG that never has a value.
func TestEEGBandPowersSurviveAnOccasionallyLateHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		bands := [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}
		sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: bands, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		line := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(sig.At, line)
		port := sim.NewSPIPort("spi-eeg", chip)
		ctx, cancel := context.WithCancel(context.Background())
		var models sync.WaitGroup
		models.Go(func() { _ = chip.Run(ctx) })
		defer func() { cancel(); models.Wait() }()

		drdy := &lateLine{Line: line, period: time.Second, lag: 20 * time.Millisecond}
		open := func() (*ads1299.Dev, error) {
			o := ads1299.DefaultOpts()
			o.RateHz = 250
			return ads1299.New(port, drdy, &o)
		}
		s, err := EEG(open, 8, 250, 24)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(time.Until(t0.Add(45 * time.Second)))
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("after 45 s: %+v, want ok", h)
		}
		v := w.report()
		if v.EEG == nil {
			t.Fatal("after 45 s of a healthy EEG with 5 frames lost a second: no band powers")
		}
		total := 0.0
		for b := range sim.EEGBands {
			total += sig.BandPower(sim.EEGBand(b))
		}
		for b, name := range []string{"delta", "theta", "alpha", "sigma", "beta", "gamma"} {
			want := sig.BandPower(sim.EEGBand(b)) / total
			if got, ok := v.EEG[name]; !ok || math.Abs(got-want)/want > 0.1 {
				t.Errorf("%s: relative power %.4f, want %.4f ± 10 %%", name, got, want)
			}
		}
	})
}
