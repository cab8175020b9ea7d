package drv2605_test

import (
	"testing"

	"github.com/sleegation/podd/actuators/drv2605"
	"github.com/sleegation/podd/sim"
)

// openBench is New on the simulated bus and model, for benchmarks.
func openBench(tb testing.TB) *drv2605.Dev {
	bus := sim.NewI2CBus("sim-i2c")
	if err := bus.Attach(drv2605.Addr, sim.NewDRV2605L(nil)); err != nil {
		tb.Fatal(err)
	}
	d, err := drv2605.New(bus, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// BenchmarkSetIntensity measures one SetIntensity, a single register write,
// through the simulated bus and the chip's model.
func BenchmarkSetIntensity(b *testing.B) {
	d := openBench(b)
	b.ReportAllocs()
	x := 0.0
	for b.Loop() {
		if err := d.SetIntensity(x); err != nil {
			b.Fatal(err)
		}
		x += 1.0 / 64
		if x > 1 {
			x = 0
		}
	}
}

func TestSetIntensityDoesNotAllocate(t *testing.T) {
	d := openBench(t)
	x := 0.0
	allocs := testing.AllocsPerRun(1000, func() {
		if err := d.SetIntensity(x); err != nil {
			t.Fatal(err)
		}
		x += 1.0 / 64
		if x > 1 {
			x = 0
		}
	})
	if allocs != 0 {
		t.Errorf("SetIntensity allocates %v times a call, want 0", allocs)
	}
}
