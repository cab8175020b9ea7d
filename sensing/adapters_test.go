package sensing

import (
	"context"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/sensors/ads1115"
	"github.com/sleegation/podd/sensors/eda"
	"github.com/sleegation/podd/sensors/tmp117"
	"github.com/sleegation/podd/sim"
)

// watch runs s on a loop and records its states in order.
type watch struct {
	mu     sync.Mutex
	states []State
	loop   *Loop
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, s Sensor) *watch {
	t.Helper()
	w := &watch{done: make(chan struct{})}
	l, err := New(s, func(h Health) {
		w.mu.Lock()
		w.states = append(w.states, h.State)
		w.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	w.loop = l
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	go func() { l.Run(ctx); close(w.done) }()
	return w
}

func (w *watch) stop() { w.cancel(); <-w.done }

func (w *watch) report() Vitals {
	var v Vitals
	w.loop.Report(&v)
	return v
}

// The thermometer through the TMP117 driver on the simulator's chip: the
// temperature once the estimate's window is full, no contact when the
// sensor falls off the body, a bus error while the chip is unplugged,
// and healthy again once it is back, with no value reported meanwhile.
func TestThermometerOnTheSimulatedChip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		celsius := 36.6
		chip := sim.NewTMP117(func(time.Time) float64 { mu.Lock(); defer mu.Unlock(); return celsius })
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x48, chip); err != nil {
			t.Fatal(err)
		}
		s, err := Thermometer(func() (*tmp117.Dev, error) { return tmp117.New(bus, &tmp117.DefaultOpts) }, 1)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(5 * time.Second)
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("after 5 s: %+v, want ok while the estimate fills", h)
		}
		if v := w.report(); v.BodyTempC != nil {
			t.Fatalf("after 5 s: %.2f °C reported before the estimate is valid", *v.BodyTempC)
		}
		time.Sleep(time.Until(t0.Add(40 * time.Second)))
		v := w.report()
		if v.BodyTempC == nil || math.Abs(*v.BodyTempC-36.6) > 0.01 {
			t.Fatalf("after 40 s: body temperature %v, want 36.6 ± 0.01 °C", v.BodyTempC)
		}
		mu.Lock()
		celsius = 24 // off the body, in the room
		mu.Unlock()
		time.Sleep(5 * time.Second)
		if h := w.loop.Health(); h.State != NoContact {
			t.Errorf("off the body: %v, want no_contact", h.State)
		}
		if v := w.report(); v.BodyTempC != nil {
			t.Errorf("off the body: %.2f °C reported", *v.BodyTempC)
		}
		mu.Lock()
		celsius = 36.6
		mu.Unlock()
		bus.SetFault(0x48, sim.FaultDisconnect)
		time.Sleep(3 * time.Second)
		if h := w.loop.Health(); h.State != BusError || h.PollErrors == 0 {
			t.Errorf("unplugged: %+v, want bus_error with failed polls counted", h)
		}
		bus.SetFault(0x48, sim.FaultNone)
		time.Sleep(50 * time.Second)
		if h := w.loop.Health(); h.State != OK {
			t.Errorf("plugged back: %+v, want ok", h)
		}
		if v := w.report(); v.BodyTempC == nil || math.Abs(*v.BodyTempC-36.6) > 0.01 {
			t.Errorf("plugged back: body temperature %v, want 36.6", v.BodyTempC)
		}
	})
}

// The skin conductance sensor through the ADS1115 driver on the
// simulator's chip and a divider: the tonic level within 2 % once the
// window is full, no contact on an open circuit, saturated at full scale.
func TestSkinConductanceOnTheSimulatedChip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		us := 2.0
		circuit := eda.DefaultDivider
		// A slow 1 % swing: skin is never exactly constant (a constant
		// input is a flat line).
		chip := sim.NewADS1115(func(now time.Time) float64 {
			mu.Lock()
			defer mu.Unlock()
			return circuit.Volts(us * (1 + 0.01*math.Sin(2*math.Pi*now.Sub(t0).Seconds()/20)))
		})
		bus := sim.NewI2CBus("i2c")
		if err := bus.Attach(0x49, chip); err != nil {
			t.Fatal(err)
		}
		s, err := SkinConductance(func() (*ads1115.Dev, error) { return ads1115.New(bus, &ads1115.DefaultOpts) }, circuit, 4)
		if err != nil {
			t.Fatal(err)
		}
		w := start(t, s)
		defer w.stop()

		time.Sleep(time.Until(t0.Add(90 * time.Second)))
		v := w.report()
		if v.SkinConductanceUS == nil || math.Abs(*v.SkinConductanceUS-2)/2 > 0.02 {
			t.Fatalf("after 90 s: skin conductance %v, want 2 µS ± 2 %%", v.SkinConductanceUS)
		}
		if h := w.loop.Health(); h.State != OK {
			t.Fatalf("health %+v", h)
		}
		mu.Lock()
		us = 0 // the electrodes off the skin: the divider reads its supply
		mu.Unlock()
		time.Sleep(2 * time.Second)
		if h := w.loop.Health(); h.State != NoContact {
			t.Errorf("electrodes off: %v, want no_contact", h.State)
		}
		if v := w.report(); v.SkinConductanceUS != nil {
			t.Errorf("electrodes off: %.3f µS reported", *v.SkinConductanceUS)
		}
		chip.Saturate(true)
		time.Sleep(2 * time.Second)
		if h := w.loop.Health(); h.State != Saturated {
			t.Errorf("saturated input: %v, want saturated", h.State)
		}
	})
}
