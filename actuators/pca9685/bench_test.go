package pca9685

import (
	"slices"
	"testing"
)

// ramp is 16 duties, each its own count.
func ramp() []float64 {
	d := make([]float64, Channels)
	for i := range d {
		d[i] = float64(256*i+17) / 4096
	}
	return d
}

// Every SetAll measured reaches the model (the last one's duties are read
// back): a SetAll that returned early would not count.
func TestSetAllDoesNotAllocate(t *testing.T) {
	const runs = 100
	r := newRig(t)
	d := r.open(t, nil)
	duties := ramp()
	before := r.bus.Transactions()
	var err error
	failed := 0
	a := testing.AllocsPerRun(runs, func() {
		if err = d.SetAll(duties); err != nil {
			failed++
		}
	})
	if failed != 0 {
		t.Fatalf("%d of the SetAlls measured failed, the last with %v", failed, err)
	}
	// AllocsPerRun calls once more than runs, to warm up.
	if n := r.bus.Transactions() - before; n != runs+1 || !slices.Equal(r.chip.Duties(), duties) {
		t.Fatalf("after the SetAlls: %d transactions, Duties() %v; want %d, %v", n, r.chip.Duties(), runs+1, duties)
	}
	if a != 0 {
		t.Errorf("SetAll allocates %v times per call; want 0", a)
	}
}

// BenchmarkSetAll16 measures SetAll of the 16 channels through the
// simulated bus and chip model (a 65-byte write).
func BenchmarkSetAll16(b *testing.B) {
	r := newRig(b)
	d := r.open(b, nil)
	duties := ramp()
	b.ReportAllocs()
	b.SetBytes(1 + 4*Channels)
	for b.Loop() {
		if err := d.SetAll(duties); err != nil {
			b.Fatal(err)
		}
	}
}
