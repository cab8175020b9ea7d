package eda

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"testing"
)

// loadE4 reads an Empatica E4 export: the start time (unix s), the rate
// (Hz), then one sample per line.
func loadE4(t testing.TB, path string) (fs float64, x []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		v, err := strconv.ParseFloat(sc.Text(), 64)
		if err != nil {
			t.Fatalf("%s line %d: %v", path, line, err)
		}
		switch line {
		case 1:
		case 2:
			fs = v
		default:
			x = append(x, v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fs, x
}

// TestE4Recording plays the E4 wristband's 42 min of a dry wrist
// (0.00-0.12 µS) at its 4 Hz and pins what the Estimator makes of it,
// estimating once a second as the pod does: how much is valid, why the
// rest is not, the tonic range and the responses found.
func TestE4Recording(t *testing.T) {
	fs, x := loadE4(t, "testdata/EDA.csv")
	if fs != 4 || len(x) != 9998 {
		t.Fatalf("rate %g Hz, %d samples; want 4 Hz, 9998", fs, len(x))
	}
	e := newTest(t, fs)
	var (
		readings, valid int
		reasons         = map[Reason]int{}
		lo, hi          = math.Inf(1), math.Inf(-1)
		scrs            []SCR
		maxRate         int
	)
	for i, v := range x {
		e.Add(v)
		if (i+1)%4 != 0 {
			continue
		}
		readings++
		r := e.Estimate()
		if !r.Valid {
			reasons[r.Reason]++
			continue
		}
		valid++
		lo, hi = min(lo, r.TonicMicrosiemens), max(hi, r.TonicMicrosiemens)
		maxRate = max(maxRate, r.SCRPerMinute)
		for _, s := range e.SCRs(nil) {
			if len(scrs) == 0 || s.Peak > scrs[len(scrs)-1].Peak {
				scrs = append(scrs, s)
			}
		}
	}
	ampLo, ampHi := math.Inf(1), math.Inf(-1)
	for _, s := range scrs {
		ampLo, ampHi = min(ampLo, s.AmplitudeMicrosiemens), max(ampHi, s.AmplitudeMicrosiemens)
	}
	t.Logf("%d readings, %d valid (%.1f %%); invalid: %v", readings, valid, 100*float64(valid)/float64(readings), reasons)
	t.Logf("tonic %.4f..%.4f µS; %d SCRs in valid minutes, %.4f..%.4f µS, at most %d a minute", lo, hi, len(scrs), ampLo, ampHi, maxRate)
	// What the rules make of it, pinned: the first minute (the wristband
	// put on, from 0 µS) and a minute after each dip below 0.05 µS are
	// invalid; the rest is valid, with a handful of small responses just
	// over MinSCRMicrosiemens, as a dry wrist asleep or at rest gives.
	if valid != 2057 || reasons[ReasonNoContact] != 12 || reasons[ReasonFilling] != 430 || len(reasons) != 2 {
		t.Errorf("%d valid, invalid %v; want 2057 valid, 12 no_contact, 430 filling", valid, reasons)
	}
	if math.Abs(lo-0.0579) > 5e-5 || math.Abs(hi-0.1042) > 5e-5 {
		t.Errorf("tonic %.4f..%.4f µS, want 0.0579..0.1042", lo, hi)
	}
	if len(scrs) != 5 || math.Abs(ampLo-0.0205) > 5e-5 || math.Abs(ampHi-0.0327) > 5e-5 || maxRate != 2 {
		t.Errorf("%d SCRs of %.4f..%.4f µS, at most %d a minute; want 5 of 0.0205..0.0327, at most 2", len(scrs), ampLo, ampHi, maxRate)
	}
}
