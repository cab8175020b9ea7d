package eda

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzAdd feeds arbitrary float64 samples (NaN, ±Inf, negative, huge),
// the input repeated to fill 70 s at 4 Hz, and checks every reading: a
// valid one is finite and in range, an invalid one has a reason and no
// values.
func FuzzAdd(f *testing.F) {
	le := func(vs ...float64) []byte {
		b := make([]byte, 0, 8*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(le(3, 3.01, 3.05, 3.2, 3.1, 3.02))
	f.Add(le(math.NaN(), 3))
	f.Add(le(math.Inf(-1), 59.9, 60))
	f.Add(le(0.05, 0.0500001, 0.06))
	f.Add(le(5e-324, 1e308))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs := make([]float64, len(data)/8)
		for i := range vs {
			vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		if len(vs) == 0 {
			return
		}
		e, err := New(4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 280 {
			e.Add(vs[i%len(vs)])
			r := e.Estimate()
			if !r.Valid {
				if r.Reason == ReasonNone || r != (Reading{Reason: r.Reason}) {
					t.Fatalf("sample %d: invalid reading %+v", i, r)
				}
				continue
			}
			if r.Reason != ReasonNone {
				t.Fatalf("sample %d: valid with reason %v", i, r.Reason)
			}
			for _, v := range []float64{r.TonicMicrosiemens, r.PhasicMicrosiemens, r.SCRAmplitudeMicrosiemens} {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("sample %d: valid with a non-finite value: %+v", i, r)
				}
			}
			// The tonic of samples in 0.05..60 µS overshoots by at most
			// a Butterworth's 4.3 % of a step.
			if r.TonicMicrosiemens < MinContactMicrosiemens-0.05*MaxMicrosiemens || r.TonicMicrosiemens > 1.05*MaxMicrosiemens {
				t.Fatalf("sample %d: tonic %g µS", i, r.TonicMicrosiemens)
			}
			if r.SCRPerMinute < 0 || r.SCRPerMinute > maxSCRs || (r.SCRPerMinute > 0) != (r.SCRAmplitudeMicrosiemens >= MinSCRMicrosiemens) {
				t.Fatalf("sample %d: %d SCRs of %g µS", i, r.SCRPerMinute, r.SCRAmplitudeMicrosiemens)
			}
		}
	})
}
