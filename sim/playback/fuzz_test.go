package playback

import (
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzRead checks that Read never panics, and that a recording it accepts
// has at least two rows, plays from 0 to End, and never reports a value
// outside the range of the column it interpolates, looping or not.
func FuzzRead(f *testing.F) {
	f.Add("ir,red\n0,100\n10,80\n30,80\n", 100.0, false)
	f.Add("t,ir\n0.5,10\n1.0,20\n3.0,0\n", 0.0, true)
	f.Add("ch3, ch1\r\n-12.5, 3\r\n7.5, 5\r\n", 200.0, true)
	f.Add("\ufeffir\n1e-300\n2e-300\n", 1e5, false)
	f.Add("t,ir\n1e9,1\n1000000000.0000001,2\n", 0.0, false)
	f.Add("ir\n1,2\n", 1.0, false)
	f.Fuzz(func(t *testing.T, src string, rate float64, loop bool) {
		o := Options{Device: "fuzz", Columns: []string{"ir", "red", "ch1", "ch2"}, RateHz: rate, Loop: loop}
		p, err := Read(strings.NewReader(src), "fuzz.csv", o)
		if err != nil {
			if p != nil {
				t.Fatalf("Read returned a recording with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "fuzz.csv: ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if p.Rows() < 2 {
			t.Fatalf("accepted %d rows", p.Rows())
		}
		var lo, hi Sample
		for k := range lo {
			lo[k], hi[k] = math.Inf(1), math.Inf(-1)
		}
		n := len(p.slots)
		for i := range p.rows {
			for k, slot := range p.slots {
				v := p.vals[i*n+k]
				lo[slot], hi[slot] = min(lo[slot], v), max(hi[slot], v)
			}
		}
		end := p.End()
		for _, d := range []time.Duration{0, 1, end / 3, end / 2, end - 1, end, end + 1, 3*end + end/7, time.Hour, math.MaxInt64} {
			s, ok := p.At(d)
			if d <= end && !ok {
				t.Fatalf("At(%v) not ok within the recording (End %v)", d, end)
			}
			if d > end && ok != loop {
				t.Fatalf("At(%v) ok = %v after End %v with loop %v", d, ok, end, loop)
			}
			if !ok {
				if s != (Sample{}) {
					t.Fatalf("At(%v) = %v with ok false", d, s)
				}
				continue
			}
			for slot, v := range s {
				if !p.Has(slot) {
					if v != 0 {
						t.Fatalf("At(%v) slot %d = %v, absent from the file", d, slot, v)
					}
					continue
				}
				if !(v >= lo[slot] && v <= hi[slot]) {
					t.Fatalf("At(%v) slot %d = %v, outside the column's %v..%v", d, slot, v, lo[slot], hi[slot])
				}
			}
		}
	})
}
