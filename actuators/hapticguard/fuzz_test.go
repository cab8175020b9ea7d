package hapticguard

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzLimit feeds frames of any values (NaN, infinities, negative, huge)
// at any times, including backwards and negative, to a guard of 2 places:
// a negative time is refused, and every output stays within 0..cap and at
// or below what was asked.
func FuzzLimit(f *testing.F) {
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.Inf(1))))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := New(2, Opts{Window: MinWindow})
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float64, 2)
		for len(b) >= 24 {
			now := time.Duration(int64(binary.LittleEndian.Uint64(b)) % int64(24*time.Hour))
			in[0] = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
			in[1] = math.Float64frombits(binary.LittleEndian.Uint64(b[16:]))
			b = b[24:]
			asked := [2]float64{in[0], in[1]}
			_, err := g.Limit(now, in)
			if now < 0 {
				if err != ErrTime || in[0] != asked[0] && !math.IsNaN(asked[0]) {
					t.Fatalf("negative time: %v, %v", err, in)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for p, x := range in {
				if !(x >= 0 && x <= g.Cap()) || (asked[p] >= 0 && x > asked[p]) {
					t.Fatalf("place %d: %v asked, %v out", p, asked[p], x)
				}
				if u := g.Used(p); !(u >= 0) || math.IsInf(u, 0) {
					t.Fatalf("place %d: used %v", p, u)
				}
			}
		}
	})
}
