package temp

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

// TestE4Recording plays the E4 wristband's 21 min of wrist temperature
// (31.91-33.41 °C, 4 Hz) and pins what the Estimator makes of it,
// estimating once a second: valid throughout once its first 30 s are in,
// the range of the smoothed temperature and the fastest change.
func TestE4Recording(t *testing.T) {
	fs, x := loadE4(t, "testdata/TEMP.csv")
	if fs != 4 || len(x) != 4998 {
		t.Fatalf("rate %g Hz, %d samples; want 4 Hz, 4998", fs, len(x))
	}
	e := newTest(t, fs)
	var readings, valid int
	lo, hi, fastest := math.Inf(1), math.Inf(-1), 0.0
	for i, v := range x {
		e.Add(v)
		if (i+1)%4 != 0 {
			continue
		}
		readings++
		r := e.Estimate()
		if !r.Valid {
			if r.Reason != ReasonFilling || i >= 120 {
				t.Errorf("sample %d: invalid (%v)", i, r.Reason)
			}
			continue
		}
		valid++
		lo, hi = min(lo, r.Celsius), max(hi, r.Celsius)
		if math.Abs(r.RateCelsiusPerMinute) > math.Abs(fastest) {
			fastest = r.RateCelsiusPerMinute
		}
	}
	t.Logf("%d readings, %d valid; %.4f..%.4f °C, fastest change %+.4f °C/min", readings, valid, lo, hi, fastest)
	if valid != readings-29 {
		t.Errorf("%d of %d readings valid, want all but the first 29", valid, readings)
	}
	// The wrist warms by 1.5 °C over the 21 min; its fastest half-minute
	// is under MaxRateCelsiusPerMinute with little room: a rise of 0.6 °C
	// a minute is still a wrist, not a sensor leaving it.
	if math.Abs(lo-31.922) > 5e-4 || math.Abs(hi-33.406) > 5e-4 || math.Abs(fastest-0.6278) > 5e-4 {
		t.Errorf("%.4f..%.4f °C, fastest %.4f °C/min; want 31.922..33.406, 0.6278", lo, hi, fastest)
	}
}
