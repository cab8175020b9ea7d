package lightguard

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/actuators/light"
)

// FuzzLimit feeds frames of any values (NaN, infinities, negative, huge)
// at any times, including backwards, to a guard of 3 zones: every shown
// channel stays within 0..1 and moves no more than the slew allows since
// the latest time seen.
func FuzzLimit(f *testing.F) {
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN())))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := New(3, Opts{})
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]light.RGB, 3)
		prev := make([]light.RGB, 3)
		var latest time.Duration
		started := false
		for len(b) >= 8+9*8 {
			now := time.Duration(int64(binary.LittleEndian.Uint64(b)) % int64(time.Hour))
			b = b[8:]
			for z := range frame {
				v := func() float64 {
					x := math.Float64frombits(binary.LittleEndian.Uint64(b))
					b = b[8:]
					return x
				}
				frame[z] = light.RGB{R: v(), G: v(), B: v()}
			}
			if _, err := g.Limit(now, frame); err != nil {
				t.Fatal(err)
			}
			step := 0.0
			if started && now > latest {
				step = HardMaxSlew * (now - latest).Seconds()
			}
			for z, c := range frame {
				for i, v := range [...]float64{c.R, c.G, c.B} {
					was := [...]float64{prev[z].R, prev[z].G, prev[z].B}[i]
					if !(v >= 0 && v <= 1) || math.Abs(v-was) > step+1e-12 {
						t.Fatalf("%v zone %d channel %d: %v after %v (step %v)", now, z, i, v, was, step)
					}
				}
			}
			copy(prev, frame)
			if !started || now > latest {
				latest = now
			}
			started = true
		}
	})
}
