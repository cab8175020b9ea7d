package ads1299_test

import (
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sensors/ads1299"
)

// TestStreamAtFullRateInRealTime reads 1 s of 500 sps frames with the
// model's clock on the wall clock: every frame is a new conversion (never
// one read twice) and the gaps between them are whole periods.
func TestStreamAtFullRateInRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs on the wall clock for 1 s")
	}
	t0 := time.Now()
	// 1 µV per 10 µs since t0: the frame tells its conversion's instant.
	r := newRig(t, func(t time.Time, _ int) float64 { return float64(t.Sub(t0).Microseconds()) / 10 }, nil)
	defer r.stop()
	var f ads1299.Frame
	prev, frames, missed, misestimated := -1.0, 0, 0, 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if err := r.dev.Read(&f, 100*time.Millisecond); err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		// Conversions come every 2 ms: 200 µV apart on this ramp.
		at := math.Round(r.dev.Microvolts(f.Raw[0]) / 200)
		if prev >= 0 {
			step := int(at - prev)
			if step < 1 {
				t.Fatalf("frame %d is conversion %v, after conversion %v: read twice or out of order", frames, at, prev)
			}
			missed += step - 1
			if step-1 != f.Skipped {
				misestimated++
			}
		}
		prev = at
		frames++
	}
	t.Logf("%d frames, %d conversions overwritten, %d Skipped estimates off", frames, missed, misestimated)
	if frames < 100 {
		t.Errorf("%d frames in 1 s at 500 sps", frames)
	}
}
