package actuators_test

import (
	"testing"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/sim"
)

// BenchmarkSafeState measures the abort path's actuator half: the gate
// closing and halting a 60-LED strip on the simulated SPI port, against a
// baseline of the strip's Halt called directly, in the same run.
func BenchmarkSafeState(b *testing.B) {
	newStrip := func(b *testing.B) *apa102.Dev {
		d, err := apa102.New(sim.NewSPIPort("bench", sim.NewAPA102(60)), &apa102.Opts{NumPixels: 60, Speed: apa102.DefaultOpts.Speed})
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	b.Run("halt-direct", func(b *testing.B) {
		d := newStrip(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Halt(); err != nil {
				b.Fatal(err)
			}
			d.Resume()
		}
	})
	b.Run("gate", func(b *testing.B) {
		d := newStrip(b)
		g := actuators.NewGate(d)
		b.ReportAllocs()
		for b.Loop() {
			if err := g.SafeState(); err != nil {
				b.Fatal(err)
			}
			if err := g.Open(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
