package lightguard

import (
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// One frame of 8 zones (a 300-LED strip's worth), every zone limited (a
// full-scale strobe), its episodes taken: ns and allocations per frame.
func BenchmarkLimit(b *testing.B) {
	g, err := New(8, Opts{})
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]light.RGB, 8)
	eps := make([]Episode, 0, 8)
	b.ReportAllocs()
	now := time.Duration(0)
	for i := 0; b.Loop(); i++ {
		now += 20 * time.Millisecond
		c := light.RGB{}
		if i%2 == 0 {
			c = light.RGB{R: 1, G: 1, B: 1}
		}
		for z := range frame {
			frame[z] = c
		}
		if _, err := g.Limit(now, frame); err != nil {
			b.Fatal(err)
		}
		eps = g.Ended(now, eps[:0])
	}
}

func TestLimitDoesNotAllocate(t *testing.T) {
	g := newGuard(t, 8)
	frame := make([]light.RGB, 8)
	eps := make([]Episode, 0, 8)
	now := time.Duration(0)
	allocs := testing.AllocsPerRun(1000, func() {
		now += 20 * time.Millisecond
		for z := range frame {
			frame[z] = light.RGB{R: 1, G: float64(now%(40*time.Millisecond)) / 1e8}
		}
		g.Limit(now, frame)
		eps = g.Ended(now+2*time.Second, eps[:0])
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}
