package sensing

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/ads1299"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/tmp117"
	vitalseda "github.com/sleegation/podd/sensors/vitals/eda"
	"github.com/sleegation/podd/sensors/vitals/eeg"
	"github.com/sleegation/podd/sensors/vitals/temp"
	"github.com/sleegation/podd/sim"
)

// estimates records what the devices hand over.
type estimates struct {
	mu    sync.Mutex
	temps []temp.Reading
	skins []vitalseda.Reading
	eegs  []eeg.Channel
	eegAt []time.Time
}

func (e *estimates) FeedBodyTemp(r temp.Reading) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.temps = append(e.temps, r)
}

func (e *estimates) FeedSkinConductance(r vitalseda.Reading) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.skins = append(e.skins, r)
}

func (e *estimates) FeedEEG(at time.Time, s eeg.Channel) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.eegs, e.eegAt = append(e.eegs, s), append(e.eegAt, at)
}

// The thermometer and the skin conductance sensor hand every estimate
// they make to the Estimates set (SetEstimates), valid or not, stamped
// with the time of their poll: one per conversion, the first ones
// invalid while the window fills, then valid at the chip's level.
func TestThermometerAndSkinConductanceHandOverEveryEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x48, sim.NewTMP117(func(time.Time) float64 { return 36.6 })); err != nil {
			t.Fatal(err)
		}
		circuit := eda.DefaultDivider
		skin := sim.NewADS1115(func(now time.Time) float64 {
			return circuit.Volts(2 * (1 + 0.01*math.Sin(2*math.Pi*now.Sub(t0).Seconds()/20)))
		})
		if err := bus.Attach(0x49, skin); err != nil {
			t.Fatal(err)
		}
		th, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(bus, &tmp117.DefaultOpts) }, 1)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &ads1115.DefaultOpts) }, circuit, 4)
		if err != nil {
			t.Fatal(err)
		}
		got := &estimates{}
		th.SetEstimates(got)
		sc.SetEstimates(got)
		w1, w2 := start(t, th), start(t, sc)
		time.Sleep(90 * time.Second)
		w1.stop()
		w2.stop()

		got.mu.Lock()
		defer got.mu.Unlock()
		// 1 Hz and 4 Hz conversions for 90 s, give or take the first.
		if n := len(got.temps); n < 88 || n > 91 {
			t.Fatalf("%d temperature estimates in 90 s at 1 Hz", n)
		}
		if n := len(got.skins); n < 356 || n > 361 {
			t.Fatalf("%d skin conductance estimates in 90 s at 4 Hz", n)
		}
		if got.temps[0].Valid || got.skins[0].Valid {
			t.Fatalf("first estimates %+v, %+v: want invalid (filling)", got.temps[0], got.skins[0])
		}
		last, lastSkin := got.temps[len(got.temps)-1], got.skins[len(got.skins)-1]
		if !last.Valid || math.Abs(last.Celsius-36.6) > 0.05 || !lastSkin.Valid || math.Abs(lastSkin.TonicMicrosiemens-2)/2 > 0.02 {
			t.Fatalf("last estimates %+v, %+v: want valid, 36.6 °C and 2 µS", last, lastSkin)
		}
		for i, r := range got.temps {
			if r.At.IsZero() || r.At.Before(t0) || r.At.After(t0.Add(90*time.Second)) || i > 0 && !r.At.After(got.temps[i-1].At) {
				t.Fatalf("temperature estimate %d stamped %v", i, r.At)
			}
		}
	})
}

// The EEG hands over its pod summary at every poll, with the poll's time.
func TestEEGHandsOverItsSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		open := func() (*ads1299.Dev, error) {
			o := ads1299.DefaultOpts()
			o.RateHz = 250
			return ads1299.New(port, drdy, &o)
		}
		s, err := EEG(open, 8, 250, 24)
		if err != nil {
			t.Fatal(err)
		}
		got := &estimates{}
		s.SetEstimates(got)
		w := start(t, s)
		time.Sleep(40 * time.Second)
		w.stop()

		got.mu.Lock()
		defer got.mu.Unlock()
		// A poll is a tenth of a second of frames.
		if n := len(got.eegs); n < 390 || n > 401 {
			t.Fatalf("%d summaries in 40 s, want one per 100 ms poll", n)
		}
		first, last := got.eegs[0], got.eegs[len(got.eegs)-1]
		// The signal's beta/alpha is 3.4/13.0 µV².
		if want := bands[4] / bands[2]; first.Valid || !last.Valid || math.Abs(last.BetaAlpha-want)/want > 0.1 {
			t.Fatalf("first summary valid %v, last %+v: want invalid while the span fills, then valid with beta/alpha %.3f ± 10 %%", first.Valid, last, want)
		}
		if got.eegAt[0].IsZero() || !got.eegAt[len(got.eegAt)-1].After(got.eegAt[0]) {
			t.Fatalf("summaries stamped %v .. %v", got.eegAt[0], got.eegAt[len(got.eegAt)-1])
		}
	})
}
