package vitals

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// The values are dated at the midpoint of the beats they were measured
// over: on a steady ramp of the heart rate (10 bpm/s, a nightmare's; 1
// bpm/s, a bradycardia's) the true rate at Describes is within 1 bpm of
// the reported rate on every valid reading once the ramp fills
// RecentSeconds, where the true rate at At is at least 14 bpm (10 bpm/s)
// away; and on a steady pulse the values are half the span of beats old
// plus up to a beat since the newest.
func TestEstimatorDatesItsValuesAtTheMidpointOfItsBeats(t *testing.T) {
	for _, c := range []struct {
		lo, hi, rate float64
		atOff        float64 // the least |true rate at At - reported| on the ramp, bpm
	}{
		{60, 150, 10, 14},
		{60, 35, -1, 1},
		{60, 90, 1, 1},
	} {
		t.Run(fmt.Sprintf("%v-%v at %v bpm/s", c.lo, c.hi, c.rate), func(t *testing.T) {
			const up = 20.0
			end := up + (c.hi-c.lo)/c.rate
			g := newPPG(25, 0, 96)
			g.hr = func(s float64) float64 {
				v := c.lo + c.rate*math.Max(0, s-up)
				if c.rate > 0 {
					return math.Min(v, c.hi)
				}
				return math.Max(v, c.hi)
			}
			tr := record(g, end)
			zero := time.Time{}
			n, worst, nearest := 0, 0.0, math.Inf(1)
			for i, s := range tr.at {
				r := tr.r[i]
				if s < up+RecentSeconds+2 || !r.HeartRateValid {
					continue
				}
				r.Stamp(zero.Add(time.Duration(s * float64(time.Second))))
				if r.Describes.IsZero() || r.Age() != r.At.Sub(r.Describes) {
					t.Fatalf("at %.2f s: At %v, Describes %v, Age %v", s, r.At, r.Describes, r.Age())
				}
				described := r.Describes.Sub(zero).Seconds()
				worst = math.Max(worst, math.Abs(tr.hr(described)-r.HeartRateBPM))
				nearest = math.Min(nearest, math.Abs(tr.hr(s)-r.HeartRateBPM))
				n++
			}
			if n < 10 {
				t.Fatalf("%d valid readings on the ramp, want at least 10", n)
			}
			if worst > 1.0 {
				t.Errorf("the true rate at Describes is up to %.2f bpm from the reported one, want at most 1.0", worst)
			}
			if nearest < c.atOff {
				t.Errorf("the true rate at At came within %.2f bpm of the reported one, want at least %v (the test would not tell the times apart)", nearest, c.atOff)
			}
			t.Logf("%d readings: the rate at Describes within %.2f bpm, at At at least %.2f bpm off", n, worst, nearest)
		})
	}
	for _, hr := range []float64{45, 60, 120} {
		t.Run(fmt.Sprintf("steady %v bpm", hr), func(t *testing.T) {
			// The span is RecentSeconds less up to a beat, or three
			// beats when RecentSeconds holds fewer; its midpoint is half
			// of it before the newest beat, which is up to a beat (and
			// the peak detector's delay) before the newest sample.
			iv := 60 / hr
			span := max(RecentSeconds-iv, 3*iv)
			lo, hi := span/2, span/2+iv+0.2
			tr := record(newPPG(25, hr, 96), 30)
			for i, s := range tr.at {
				r := tr.r[i]
				if s < 10 || !r.HeartRateValid {
					continue
				}
				r.Stamp(time.Time{}.Add(time.Hour))
				if a := r.Age().Seconds(); a < lo || a > hi {
					t.Errorf("at %.2f s the values are %.3f s old, want %.3f..%.3f s", s, a, lo, hi)
				}
			}
		})
	}
}

// A reading without a span of beats (invalid, or made by other code) is
// dated at its own time; a Describes after At counts as no age.
func TestAReadingWithoutASpanDescribesItsOwnTime(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	e := NewEstimator(25)
	r := e.Estimate() // too little signal: invalid
	r.Stamp(at)
	if !r.At.Equal(at) || !r.Describes.IsZero() || r.Age() != 0 {
		t.Errorf("invalid reading stamped: At %v, Describes %v, Age %v; want At only, age 0", r.At, r.Describes, r.Age())
	}
	r = Reading{At: at, Describes: at.Add(time.Second), HeartRateValid: true}
	if r.Age() != 0 {
		t.Errorf("Describes after At: Age %v, want 0", r.Age())
	}
	r = Reading{At: at, Describes: at.Add(-1800 * time.Millisecond)}
	if r.Age() != 1800*time.Millisecond {
		t.Errorf("Age %v, want 1.8s", r.Age())
	}
	// Stamping again replaces an earlier date.
	r = Reading{Describes: at}
	r.Stamp(at.Add(time.Minute))
	if !r.Describes.IsZero() {
		t.Errorf("Stamp kept a Describes it did not set: %v", r.Describes)
	}
}
