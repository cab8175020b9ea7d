package controller

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/light"
	"github.com/sleegation/podd/actuators/zones"
	"github.com/sleegation/podd/dreamscape"
	"github.com/sleegation/podd/sim"
)

// nopDevice takes every SPI transfer and does nothing: the bus's own time
// is left out of the frame's cost.
type nopDevice struct{}

func (nopDevice) Tx(w, r []byte) error { return nil }

type nopMotor struct{}

func (nopMotor) SetIntensity(float64) error { return nil }
func (nopMotor) String() string             { return "nop" }

// BenchmarkShowFrame is one frame of the show on a 300-LED pod with four
// haptic places: the program rendered (slow-ocean, which changes every
// frame), both guards, the zones encoded and the strip's frame built by
// the APA102 driver (the SPI transfer itself to a device that does
// nothing). The baseline renders only.
func BenchmarkShowFrame(b *testing.B) {
	strip, err := apa102.New(sim.NewSPIPort("bench", nopDevice{}), &apa102.Opts{NumPixels: 300, Speed: apa102.DefaultOpts.Speed})
	if err != nil {
		b.Fatal(err)
	}
	o, err := zones.New(zones.Layout{Strip: strip, LEDs: 300,
		Lights: []zones.Light{{Name: "canopy", First: 0, Count: 200}, {Name: "sides", First: 200, Count: 80}, {Name: "floor", First: 280, Count: 20}},
		Places: []zones.Place{{Name: "back", Motor: nopMotor{}}, {Name: "feet", Motor: nopMotor{}}, {Name: "arms", Motor: nopMotor{}}, {Name: "neck", Motor: nopMotor{}}}})
	if err != nil {
		b.Fatal(err)
	}
	prog, err := dreamscape.Load("../dreamscapes/slow-ocean.yaml")
	if err != nil {
		b.Fatal(err)
	}
	bound, err := prog.Bind(o.LightNames(), o.PlaceNames())
	if err != nil {
		b.Fatal(err)
	}
	p := &Pod{parts: Parts{Gate: actuators.NewGate(strip)}, queue: newEventQueue(maxUnstored), wake: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
	sh, err := newShow(p, &Show{Outputs: o, Program: bound, Strip: strip})
	if err != nil {
		b.Fatal(err)
	}
	lights, haptics := make([]light.RGB, 3), make([]float64, 4)
	const period = 20 * time.Millisecond
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			bound.Render(time.Duration(i)*period, lights, haptics)
		}
	})
	b.Run("render-guard-encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			now := time.Duration(i) * period
			bound.Render(now, lights, haptics)
			if err := sh.frame(now, lights, haptics); err != nil {
				b.Fatal(err)
			}
		}
	})
}
