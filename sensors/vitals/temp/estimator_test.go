package temp

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func newTest(t testing.TB, fs float64) *Estimator {
	t.Helper()
	e, err := New(fs)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// quantise rounds to a TMP117's step, 1/128 °C.
func quantise(c float64) float64 { return math.Round(c*128) / 128 }

func TestSmoothsSlowDrift(t *testing.T) {
	const fs = 1
	e := newTest(t, fs)
	rng := rand.New(rand.NewPCG(5, 6))
	// 34 °C warming by 0.5 °C in 20 min, as distal skin does at sleep
	// onset, with ±0.05 °C of noise.
	level := func(t float64) float64 { return 34 + 0.5*(1-math.Exp(-t/1200)) }
	for i := range 3600 {
		tt := float64(i) / fs
		e.Add(quantise(level(tt) + 0.05*(2*rng.Float64()-1)))
		r := e.Estimate()
		if i < 29 {
			if r.Valid || r.Reason != ReasonFilling {
				t.Fatalf("sample %d: %+v, want filling", i, r)
			}
			continue
		}
		if !r.Valid {
			t.Fatalf("sample %d: invalid (%v)", i, r.Reason)
		}
		// The mean of the last 10 s lags 4.5 s; the noise and the
		// converter's step average to within 0.04 °C (4 standard
		// deviations).
		if d := r.Celsius - level(tt-4.5); math.Abs(d) > 0.04 {
			t.Fatalf("at %g s: %.3f °C, level %.3f °C 4.5 s earlier", tt, r.Celsius, level(tt-4.5))
		}
		if want := 0.5 / 20 * math.Exp(-tt/1200); math.Abs(r.RateCelsiusPerMinute-want) > 0.25 {
			t.Fatalf("at %g s: %.3f °C/min, want %.3f", tt, r.RateCelsiusPerMinute, want)
		}
	}
}

// TestSensorFallingOff: the sensor leaves the skin at 34 °C and cools
// towards a 22 °C room with a time constant of 60 s. The slope shows it
// long before the sample leaves the skin's range.
func TestSensorFallingOff(t *testing.T) {
	const fs = 1
	e := newTest(t, fs)
	for range 60 {
		e.Add(34)
	}
	if r := e.Estimate(); !r.Valid || r.Celsius != 34 || r.RateCelsiusPerMinute != 0 {
		t.Fatalf("on the skin: %+v", r)
	}
	fastAt, lowAt := -1, -1
	for i := 1; i <= 120; i++ {
		c := quantise(22 + 12*math.Exp(-float64(i)/60))
		e.Add(c)
		r := e.Estimate()
		if fastAt < 0 && r.Reason == ReasonChangingFast {
			fastAt = i
		}
		if r.Reason == ReasonBelowRange && lowAt < 0 {
			lowAt = i
		}
		if r.Valid && fastAt >= 0 {
			t.Fatalf("%d s after it left: valid again (%+v)", i, r)
		}
	}
	// A least-squares slope over 30 s of a level that starts to fall at
	// 12 °C/min passes 1 °C/min after 5 samples (0.36 °C down); the
	// sample leaves the range after 25.
	if fastAt != 5 || lowAt != 25 {
		t.Fatalf("changing_fast after %d s, below_range after %d s; want 5 and 25", fastAt, lowAt)
	}
}

// TestSensorPutOn: warming from the room to the skin, the reading stays
// invalid until the sensor has settled.
func TestSensorPutOn(t *testing.T) {
	const fs = 1
	e := newTest(t, fs)
	var reasons []Reason
	validAt := -1
	for i := range 600 {
		c := quantise(34 - 12*math.Exp(-float64(i)/60))
		e.Add(c)
		r := e.Estimate()
		if n := len(reasons); n == 0 || reasons[n-1] != r.Reason {
			reasons = append(reasons, r.Reason)
		}
		if r.Valid && validAt < 0 {
			validAt = i
		}
	}
	want := []Reason{ReasonBelowRange, ReasonFilling, ReasonChangingFast, ReasonNone}
	if len(reasons) != len(want) {
		t.Fatalf("reasons %v, want %v", reasons, want)
	}
	for k := range want {
		if reasons[k] != want[k] {
			t.Fatalf("reasons %v, want %v", reasons, want)
		}
	}
	// 12·e^(-t/60)/60·60 °C/min falls under 1 °C/min at 149 s; the
	// 30 s fit centres 14.5 s back.
	if validAt != 164 {
		t.Fatalf("valid from %d s, want 164", validAt)
	}
}

func TestBadSamples(t *testing.T) {
	tests := []struct {
		name   string
		v      float64
		reason Reason
	}{
		{"room air", 29.99, ReasonBelowRange},
		{"zero: a sensor's reset value", 0, ReasonBelowRange},
		{"above range", 40.01, ReasonAboveRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t, 1)
			for range 40 {
				e.Add(36.5)
			}
			e.Add(tt.v)
			if r := e.Estimate(); r != (Reading{Reason: tt.reason}) {
				t.Fatalf("after %g: %+v, want invalid %v", tt.v, r, tt.reason)
			}
			for i := range 30 {
				e.Add(36.5)
				r := e.Estimate()
				if i < 29 && r != (Reading{Reason: ReasonFilling}) {
					t.Fatalf("%d good samples later: %+v, want filling", i+1, r)
				}
				if i == 29 && (!r.Valid || r.Celsius != 36.5) {
					t.Fatalf("30 good samples later: %+v, want valid 36.5 °C", r)
				}
			}
		})
	}
}

// TestGaps: missing samples up to MaxGapSeconds are bridged (invalid while
// they last, valid with the first sample after), a longer run starts the
// estimate over.
func TestGaps(t *testing.T) {
	for _, tt := range []struct {
		name    string
		missing float64
		n       int
		bridged bool
	}{
		{"one NaN", math.NaN(), 1, true},
		{"5 s of +Inf", math.Inf(1), 5, true},
		{"6 s of NaN", math.NaN(), 6, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t, 1)
			for i := range 40 {
				e.Add(36 + 0.01*float64(i))
			}
			for range tt.n {
				e.Add(tt.missing)
				if r := e.Estimate(); r != (Reading{Reason: ReasonNonFinite}) {
					t.Fatalf("in the gap: %+v", r)
				}
			}
			e.Add(36 + 0.01*float64(40+tt.n))
			r := e.Estimate()
			if !tt.bridged {
				if r != (Reading{Reason: ReasonFilling}) {
					t.Fatalf("after the gap: %+v, want filling", r)
				}
				return
			}
			// The bridge restores the ramp exactly: the mean of its last
			// 10 s and its slope of 0.6 °C/min.
			want := 36 + 0.01*(float64(40+tt.n)-4.5)
			if !r.Valid || math.Abs(r.Celsius-want) > 1e-9 || math.Abs(r.RateCelsiusPerMinute-0.6) > 1e-9 {
				t.Fatalf("after the gap: %+v, want valid %.3f °C rising 0.6 °C/min", r, want)
			}
		})
	}
}

func TestNewRejectsBadRate(t *testing.T) {
	for _, fs := range []float64{0, 0.1, -1, 101, math.NaN(), math.Inf(1)} {
		if e, err := New(fs); e != nil || !errors.Is(err, ErrRate) {
			t.Errorf("New(%g) = %v, %v; want ErrRate", fs, e, err)
		}
	}
	if _, err := New(0.1); err == nil || err.Error() != "temp: invalid sample rate: 0.1 Hz, want 0.2..100" {
		t.Errorf("New(0.1): %v", err)
	}
}

func TestAddAndEstimateDoNotAllocate(t *testing.T) {
	e := newTest(t, 1)
	for range 30 {
		e.Add(35)
	}
	if !e.Estimate().Valid {
		t.Fatal("not past the early returns")
	}
	if a := testing.AllocsPerRun(100, func() {
		e.Add(35.1)
		e.Estimate()
	}); a != 0 {
		t.Fatalf("%g allocations per Add and Estimate, want 0", a)
	}
}

// BenchmarkOneHz is one second of samples at 1 sps and one Estimate.
func BenchmarkOneHz(b *testing.B) {
	e := newTest(b, 1)
	for range 30 {
		e.Add(35)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Add(35.01)
		e.Estimate()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e9*100, "cpu-%")
}

// Age dates the mean: on a steady ramp the reported temperature is the
// ramp's value Age before the newest sample, at every rate; an invalid
// reading has none.
func TestAgeDatesTheMeanOnARamp(t *testing.T) {
	for _, tt := range []struct {
		fs   float64
		want time.Duration
	}{{1, 4500 * time.Millisecond}, {4, 4875 * time.Millisecond}} {
		e := newTest(t, tt.fs)
		ramp := func(s float64) float64 { return 36 + 0.01*s } // 0.6 °C a minute
		var r Reading
		for i := range int(60 * tt.fs) {
			if r = e.Estimate(); !r.Valid && r.Age != 0 {
				t.Fatalf("%g Hz: invalid reading %+v with an age", tt.fs, r)
			}
			e.Add(ramp(float64(i) / tt.fs))
		}
		r = e.Estimate()
		if !r.Valid || r.Age != tt.want {
			t.Fatalf("%g Hz: %+v, want valid with age %v", tt.fs, r, tt.want)
		}
		newest := float64(int(60*tt.fs)-1) / tt.fs
		if got, want := r.Celsius, ramp(newest-r.Age.Seconds()); math.Abs(got-want) > 1e-9 {
			t.Errorf("%g Hz: %.6f °C, the ramp %v before the newest sample is %.6f °C", tt.fs, got, r.Age, want)
		}
	}
}

// Recent holds the samples averaged, newest first, RecentStep apart: all
// ten at 1 Hz; at 100 Hz every 16th of the thousand (0.16 s apart), 63 of
// them; none in an invalid reading.
func TestRecentHoldsTheSamplesNewestFirst(t *testing.T) {
	for _, tt := range []struct {
		fs       float64
		n        int
		stride   int
		wantStep time.Duration
	}{{1, 10, 1, time.Second}, {100, 63, 16, 160 * time.Millisecond}} {
		e := newTest(t, tt.fs)
		if r := e.Estimate(); r.NumRecent != 0 {
			t.Fatalf("%g Hz: an invalid reading with %d samples", tt.fs, r.NumRecent)
		}
		total := int(40 * tt.fs)
		x := func(i int) float64 { return 36 + 0.001*float64(i%97) }
		for i := range total {
			e.Add(x(i))
		}
		r := e.Estimate()
		if !r.Valid || r.NumRecent != tt.n || r.RecentStep != tt.wantStep {
			t.Fatalf("%g Hz: valid %v, %d samples %v apart, want %d %v apart", tt.fs, r.Valid, r.NumRecent, r.RecentStep, tt.n, tt.wantStep)
		}
		for k := range r.NumRecent {
			if want := x(total - 1 - k*tt.stride); r.Recent[k] != want {
				t.Fatalf("%g Hz: Recent[%d] = %v, want sample %d's %v", tt.fs, k, r.Recent[k], total-1-k*tt.stride, want)
			}
		}
	}
}
