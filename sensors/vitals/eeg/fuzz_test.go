package eeg

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzAdd feeds two channels at 100 sps with arbitrary float64 samples
// (NaN, ±Inf, huge, subnormal), the input repeated to fill 10 s (4
// segments, a span of 3): no panic, and a valid estimate is always finite,
// positive and consistent.
func FuzzAdd(f *testing.F) {
	le := func(vs ...float64) []byte {
		b := make([]byte, 0, 8*len(vs))
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(le(10, -10, 20, 5, -30, 0.5, 7))
	f.Add(le(math.NaN(), 1, 2))
	f.Add(le(math.Inf(1), -1))
	f.Add(le(1e308, -1e308, 3))
	f.Add(le(0, 0, 0, 0))
	f.Add(le(5e-324, -5e-324, 1e-300))
	f.Fuzz(func(t *testing.T, data []byte) {
		vs := make([]float64, len(data)/8)
		for i := range vs {
			vs[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
		}
		if len(vs) == 0 {
			return
		}
		e, err := New(Opts{Channels: 2, SampleRateHz: 100, SpanSeconds: 8, FullScaleMicrovolts: 187500})
		if err != nil {
			t.Fatal(err)
		}
		frame := make([]float64, 2)
		k := 0
		for range 1000 {
			for c := range frame {
				frame[c] = vs[k%len(vs)]
				k++
			}
			e.Add(frame)
		}
		r := e.Estimate()
		for c, ch := range append(r.Channels[:2:2], r.Summary) {
			if !ch.Valid {
				if ch.Reason == ReasonNone {
					t.Fatalf("channel %d invalid without a reason", c)
				}
				if ch.Abs != (Powers{}) || ch.Rel != (Powers{}) || ch.BetaAlpha != 0 || ch.FastSlow != 0 {
					t.Fatalf("channel %d invalid with values: %+v", c, ch)
				}
				continue
			}
			if ch.Reason != ReasonNone {
				t.Fatalf("channel %d valid with reason %v", c, ch.Reason)
			}
			sum := 0.0
			for b := range NumBands {
				if !(ch.Abs[b] > 0) || math.IsInf(ch.Abs[b], 0) || !(ch.Rel[b] > 0 && ch.Rel[b] <= 1) {
					t.Fatalf("channel %d valid with %v abs %g rel %g", c, Band(b), ch.Abs[b], ch.Rel[b])
				}
				sum += ch.Rel[b]
			}
			if c < 2 && math.Abs(sum-1) > 1e-9 {
				t.Fatalf("channel %d relative powers add up to %g", c, sum)
			}
			for _, v := range []float64{ch.BetaAlpha, ch.FastSlow} {
				if !(v > 0) || math.IsInf(v, 0) {
					t.Fatalf("channel %d valid with an index %g", c, v)
				}
			}
		}
	})
}
