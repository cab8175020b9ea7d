package actuators_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators"
	"github.com/sleegation/podd/actuators/apa102"
	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/actuators/gpioout"
	"github.com/sleegation/podd/actuators/pca9685"
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

// BenchmarkSafeStateOfEveryOutput is the abort path's actuator half on the
// pod's whole set of outputs in the simulator: a 60-LED strip, the PCA9685
// with its OE line, the DRV2605L and a motor on a GPIO line, each driven
// first, then halted through the gate. It reports the p50 and p99 of the
// time from the SafeState call to the last output's Halt returning.
func BenchmarkSafeStateOfEveryOutput(b *testing.B) {
	bus := sim.NewI2CBus("bench-i2c")
	oe := sim.NewLine("OE", 6)
	if err := bus.Attach(0x40, sim.NewPCA9685(oe)); err != nil {
		b.Fatal(err)
	}
	if err := bus.Attach(sim.DRV2605Addr, sim.NewDRV2605L(nil)); err != nil {
		b.Fatal(err)
	}
	strip, err := apa102.New(sim.NewSPIPort("bench", sim.NewAPA102(60)), &apa102.Opts{NumPixels: 60, Speed: apa102.DefaultOpts.Speed, Safe: apa102.Color{R: 10, G: 3, B: 1}})
	if err != nil {
		b.Fatal(err)
	}
	pwmOpts := pca9685.DefaultOpts
	pwmOpts.OE = oe
	pwm, err := pca9685.New(bus, &pwmOpts)
	if err != nil {
		b.Fatal(err)
	}
	haptic, err := drv2605.New(bus, &drv2605.DefaultOpts)
	if err != nil {
		b.Fatal(err)
	}
	motor, err := gpioout.New(sim.NewLine("GPIO5", 5), gpioout.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	g := actuators.NewGate(strip, pwm, haptic, motor)
	pixels := make([]apa102.Color, 60)
	duties := make([]float64, 16)
	var took []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := g.Open(); err != nil {
			b.Fatal(err)
		}
		for i := range pixels {
			pixels[i] = apa102.Color{R: 200, G: 100, B: 50}
		}
		duties[0] = 0.5
		if err := errors.Join(strip.Write(pixels), pwm.SetAll(duties), haptic.SetIntensity(0.5), motor.SetIntensity(1)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		if err := g.SafeState(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}
