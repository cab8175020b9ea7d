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

// The EEG through the ADS1299 driver on the simulator's chip: relative
// band powers within 10 % of the signal's truth once the span is full,
// lead_off when every electrode comes off, a bus error while the chip is
// unplugged, and healthy again once it is back (the same chip restarted).
func TestEEGOnTheSimulatedChip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		// Sleep stage N2's band powers (µV², eeg_bandpower.csv).
		bands := [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}
		sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: bands, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		drdy := sim.NewLine("DRDY", 25)
		chip := sim.NewADS1299(sig.At, drdy)
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

		time.Sleep(10 * time.Second)
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("after 10 s: %+v, want ok while the span fills", h)
		}
		if v := w.report(); v.EEG != nil {
			t.Fatalf("after 10 s: band powers %v before the span is full", v.EEG)
		}
		time.Sleep(time.Until(t0.Add(40 * time.Second)))
		v := w.report()
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
		for ch := 1; ch <= 8; ch++ {
			_ = chip.SetLeadOff(ch, true)
		}
		time.Sleep(time.Second)
		if h := w.loop.Health(); h.State != LeadOff {
			t.Errorf("electrodes off: %v, want lead_off", h.State)
		}
		for ch := 1; ch <= 8; ch++ {
			_ = chip.SetLeadOff(ch, false)
		}
		port.SetFault(sim.FaultDisconnect)
		chip.SetPowered(false)
		time.Sleep(2 * time.Second)
		if h := w.loop.Health(); h.State != BusError {
			t.Errorf("unplugged: %+v, want bus_error", h)
		}
		port.SetFault(sim.FaultNone)
		chip.SetPowered(true)
		time.Sleep(10 * time.Second)
		if h := w.loop.Health(); h.State != OK || h.Reopens == 0 {
			t.Errorf("plugged back: %+v, want ok after a reopen", h)
		}
	})
}
