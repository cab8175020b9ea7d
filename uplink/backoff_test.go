package uplink

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// constSource makes rng.Float64 return about v (0 or just below 1).
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

func TestBackoffWithoutJitterDoublesUpToTheCap(t *testing.T) {
	p := BackoffPolicy{Initial: 100 * time.Millisecond, Max: time.Second}
	want := []time.Duration{0, 100, 200, 400, 800, 1000, 1000}
	for attempt, w := range want {
		if got := p.Delay(attempt, rand.New(rand.NewPCG(1, 2))); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", attempt, got, w*time.Millisecond)
		}
	}
	if got := p.Delay(math.MaxInt, nil); got != time.Second {
		t.Errorf("Delay(MaxInt) = %v, want the cap", got)
	}
}

func TestBackoffJitterStaysWithinItsBounds(t *testing.T) {
	p := BackoffPolicy{Initial: time.Second, Max: 8 * time.Second, Jitter: 0.25}
	// Extremes of the random source give the exact ends of the range.
	if got := p.Delay(3, rand.New(constSource(0))); got != 4*time.Second {
		t.Errorf("Delay(3) with rand 0 = %v, want 4s", got)
	}
	if got := p.Delay(3, rand.New(constSource(math.MaxUint64))); got <= 3*time.Second || got > 3*time.Second+time.Microsecond {
		t.Errorf("Delay(3) with rand ~1 = %v, want just above 3s", got)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for attempt := 1; attempt <= 10; attempt++ {
		ceil := min(time.Second<<(attempt-1), 8*time.Second)
		floor := ceil - ceil/4
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Delay(attempt, rng)
			if d < floor || d > ceil {
				t.Fatalf("Delay(%d) = %v outside [%v, %v]", attempt, d, floor, ceil)
			}
			seen[d] = true
		}
		if len(seen) < 100 {
			t.Fatalf("Delay(%d) took only %d distinct values in 200 draws: no jitter", attempt, len(seen))
		}
	}
}

func TestBackoffZeroPolicyTakesTheDefault(t *testing.T) {
	if got := (BackoffPolicy{}).orDefault(); got != DefaultBackoff {
		t.Fatalf("orDefault = %+v", got)
	}
	if got := (BackoffPolicy{Initial: time.Second, Max: time.Millisecond}).orDefault(); got.Max != time.Second {
		t.Fatalf("Max below Initial not raised: %+v", got)
	}
}
