package sensing

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sim"
)

// The EEG at the default rate set (8 channels at 500 sps, gain 24) through
// the ADS1299 driver on the simulator's chip, with 1/f noise, blinks (on
// the frontal channels) and movement artefacts: after 40 s each band's
// relative power is within 10 % of the signal's truth (sim.EEGSignal's
// BandPower, its bands 0.5 Hz clear of their edges), for spectra of sleep
// stages N2 and N3 (eeg_bandpower.csv) and of relaxed wakefulness (alpha
// strongest; under -short N2 alone). The errors are logged.
func TestEEGBandPowersOverStages(t *testing.T) {
	for _, tt := range []struct {
		name  string
		bands [sim.EEGBands]float64 // µV²: delta, theta, alpha, sigma, beta, gamma
	}{
		{"N2", [sim.EEGBands]float64{386.4, 24.5, 13.0, 24.7, 3.4, 0.8}},
		{"N3", [sim.EEGBands]float64{321.1, 33.5, 13.9, 6.0, 1.6, 0.09}},
		{"wake", [sim.EEGBands]float64{20, 10, 60, 8, 12, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && tt.name != "N2" {
				t.Skip("-short (qemu-arm): N2 alone")
			}
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				sig, err := sim.NewEEGSignal(sim.EEGOpts{Bands: tt.bands, PinkNoise: 2, BlinksPerMinute: 15,
					MovementsPerMinute: 1, Start: t0, Seed: 11})
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
				s, err := EEG(func() (*ads1299.Dev, error) {
					if dev != nil {
						return dev, dev.Restart()
					}
					o := ads1299.DefaultOpts()
					d, err := ads1299.New(port, drdy, &o)
					dev = d
					return d, err
				}, 8, 500, 24)
				if err != nil {
					t.Fatal(err)
				}
				w := start(t, s)
				defer w.stop()
				time.Sleep(40 * time.Second)
				v := w.report()
				total := 0.0
				for b := range sim.EEGBands {
					total += sig.BandPower(sim.EEGBand(b))
				}
				worst := 0.0
				line := ""
				for b, name := range []string{"delta", "theta", "alpha", "sigma", "beta", "gamma"} {
					want := sig.BandPower(sim.EEGBand(b)) / total
					got, ok := v.EEG[name]
					rel := math.Abs(got-want) / want
					worst = max(worst, rel)
					line += fmt.Sprintf(" %s %.4f (truth %.4f, %+.1f %%)", name, got, want, 100*(got-want)/want)
					if !ok || rel > 0.1 {
						t.Errorf("%s: relative power %.4f (reported: %v), want %.4f ± 10 %%", name, got, ok, want)
					}
				}
				t.Logf("%s:%s; largest error %.1f %%", tt.name, line, 100*worst)
			})
		})
	}
}

// Skin conductance from 0.5 to 20 µS (a dry to a sweating palm) through
// the ADS1115 driver on the simulator's chip and the pod's divider, at
// the default 10 sps: the tonic level within 2 % of the truth after 90 s,
// with a slow 1 % swing and a skin conductance response (0.1 µS, sim's
// SCR shape) every 20 s. The errors are logged.
func TestSkinConductanceOverTheRange(t *testing.T) {
	for _, us := range []float64{0.5, 2, 5, 10, 20} {
		t.Run(fmt.Sprintf("%vuS", us), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				circuit := eda.DefaultDivider
				chip := sim.NewADS1115(func(now time.Time) float64 {
					s := now.Sub(t0).Seconds()
					level := us * (1 + 0.01*math.Sin(2*math.Pi*s/20))
					return circuit.Volts(level + 0.1*scr(math.Mod(s, 20)-10))
				})
				bus := sim.NewI2CBus("i2c")
				if err := bus.Attach(ads1115.AddrVDD, chip); err != nil {
					t.Fatal(err)
				}
				s, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &ads1115.DefaultOpts) }, circuit, 10)
				if err != nil {
					t.Fatal(err)
				}
				w := start(t, s)
				defer w.stop()
				time.Sleep(90 * time.Second)
				v := w.report()
				if v.SkinConductanceUS == nil {
					t.Fatalf("after 90 s: no skin conductance reported; health %+v", w.loop.Health())
				}
				rel := (*v.SkinConductanceUS - us) / us
				t.Logf("%v µS: tonic %.4f µS (%+.2f %%)", us, *v.SkinConductanceUS, 100*rel)
				if math.Abs(rel) > 0.02 {
					t.Errorf("tonic %.4f µS, want %v ± 2 %%", *v.SkinConductanceUS, us)
				}
			})
		})
	}
}

// scr is a skin conductance response of peak 1 starting at t = 0 s: a
// 1 s rise and an exponential recovery (time constant 4 s).
func scr(t float64) float64 {
	switch {
	case t < 0:
		return 0
	case t < 1:
		return math.Sin(math.Pi / 2 * t)
	}
	return math.Exp(-(t - 1) / 4)
}
