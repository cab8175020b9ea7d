package temp

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzAdd feeds arbitrary float64 samples, the input repeated to fill
// 40 s at 1 Hz, and checks every reading: a valid one is finite, in range
// and changing slowly; an invalid one has a reason and no values.
func FuzzAdd(f *testing.F) {
	le := func(vs ...float64) []byte {
		b := make([]byte, 0, 8*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(le(36.5, 36.51, 36.49))
	f.Add(le(math.NaN(), 36))
	f.Add(le(30, 40))
	f.Add(le(math.Inf(1)))
	f.Add(le(35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 35, 39.9))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs := make([]float64, len(data)/8)
		for i := range vs {
			vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		if len(vs) == 0 {
			return
		}
		e, err := New(1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			e.Add(vs[i%len(vs)])
			r := e.Estimate()
			if !r.Valid {
				if r.Reason == ReasonNone || r != (Reading{Reason: r.Reason}) {
					t.Fatalf("sample %d: invalid reading %+v", i, r)
				}
				continue
			}
			if r.Reason != ReasonNone || !(r.Celsius >= MinCelsius && r.Celsius <= MaxCelsius) ||
				!(math.Abs(r.RateCelsiusPerMinute) <= MaxRateCelsiusPerMinute) {
				t.Fatalf("sample %d: valid reading %+v", i, r)
			}
		}
	})
}
