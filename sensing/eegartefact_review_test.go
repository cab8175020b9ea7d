package sensing

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sim"
)

// An EEG that says nothing of the sleeper for minutes must not be healthy.
// Here the reference electrode is off: every channel carries 50 Hz mains
// hum of 1.6 mV peak-to-peak, inside the amplifier's range (no saturation,
// no lead-off bit on the channels' own inputs), so every segment of every
// channel is rejected as an artefact. What is wrong: eegDevice.Poll maps
// only "every channel flat" and "every channel saturated" to an unhealthy
// State; every other invalid summary (artefact, non-finite) is ok, meant
// for a movement of a few seconds, and stays ok forever: the pod reports no
// EEG all night, and the watchdog (sensor_stale during a merge) sees a
// healthy sensor. Correct: a summary that has been invalid for longer than
// a movement lasts (e.g. the span, 30 s, after it was first full) is not
// ok (a state such as flatline/saturated/lead_off, or stale), so the
// watchdog sees it.
func TestReviewEEGInvalidForMinutesIsNotHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		hum := func(at time.Time, ch int) float64 {
			return 800 * math.Sin(2*math.Pi*50*at.Sub(t0).Seconds()+float64(ch))
		}
		drdy := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(hum, drdy)
		port := sim.NewSPIPort("spi-eeg", chip)
		ctx, cancel := context.WithCancel(context.Background())
		var models sync.WaitGroup
		models.Go(func() { _ = chip.Run(ctx) })
		defer func() { cancel(); models.Wait() }()

		var dev *ads1299.Dev
		open := func() (*ads1299.Dev, error) {
			if dev != nil {
				return dev, dev.Restart()
			}
			o := ads1299.DefaultOpts()
			o.RateHz = 250
			d, err := ads1299.New(port, drdy, &o)
			if err != nil {
				return nil, err
			}
			dev = d
			return d, nil
		}
		s, err := EEG(open, 8, 250, 24)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(2 * time.Minute)
		h := w.loop.Health()
		v := w.report()
		if v.EEG != nil {
			t.Fatalf("band powers %v reported from mains hum", v.EEG)
		}
		if h.Healthy() {
			t.Errorf("after 2 min with no valid EEG on any channel: %s, want not healthy", h.State)
		}
	})
}
