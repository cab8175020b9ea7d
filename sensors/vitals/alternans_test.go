package vitals

import (
	"math"
	"math/rand/v2"
	"testing"
)

// alternans synthesises a pulse at hr bpm whose every other beat has weak
// times the amplitude of the one before (pulsus alternans): the same
// beat shape, the same rate, one weak and one strong beat in turn.
type alternans struct {
	fs, hr, weak float64
	beat         float64 // beats since the start
	rng          *rand.Rand
}

func newAlternans(fs, hr, weak float64) *alternans {
	return &alternans{fs: fs, hr: hr, weak: weak, rng: rand.New(rand.NewPCG(3, 4))}
}

func (g *alternans) feed(e *Estimator, seconds float64) {
	r := ratioForSpO2(97)
	for range int(math.Round(seconds * g.fs)) {
		g.beat += g.hr / 60 / g.fs
		amp := 1.0
		if int(g.beat)%2 == 1 {
			amp = g.weak
		}
		p := amp * (shape(math.Mod(g.beat, 1)) - shapeMean)
		red := 90000*(1-r*0.015*p) + 8*g.rng.NormFloat64()
		ir := 120000*(1-0.015*p) + 8*g.rng.NormFloat64()
		e.Add(uint32(red), uint32(ir))
	}
}

// Estimator's doc: the heart rate is 60·fs over the mean interval
// between the systolic peaks of the recent beats, and a value is "marked
// invalid when there is ... no regular pulse". A pulse at 140 bpm whose
// every other beat rises to 30 % of the one before (pulsus alternans, of
// a failing left ventricle) is a tachycardia above the 130 bpm limit: its
// weak beats fall under riseThreshold against their strong neighbours,
// and the strong beats alone are a regular 70 bpm. With a weak beat in
// the middle of every interval (midBeats) the pulse is no valid reading:
// vitals_stale acts on it, never a valid 70 bpm.
func TestEstimatorDoesNotHalveAnAlternatingTachycardia(t *testing.T) {
	const fs, hr = 25.0, 140.0
	e := NewEstimator(fs)
	g := newAlternans(fs, hr, 0.3)
	g.feed(e, WindowSeconds)
	for i := range 20 {
		g.feed(e, 0.2)
		if r := e.Estimate(); r.HeartRateValid {
			t.Fatalf("after %.1f s: a valid %.1f bpm; want no valid reading", WindowSeconds+0.2*float64(i+1), r.HeartRateBPM)
		}
	}
}

// An alternating pulse is reported at its rate or not at all, never at
// half of it, whatever the rate and however weak the weak beats: from
// beats too weak to tell from noise (10 %) to nearly the strong ones'
// (80 %). Where the weak beats are under riseThreshold, or pass it on some
// beats and not on others, the estimate is invalid (vitals_stale acts),
// which this test does not hide: it counts.
func TestEstimatorNeverHalvesAnAlternatingPulse(t *testing.T) {
	const fs = 25.0
	polls, valid := 0, 0
	for _, hr := range []float64{60, 80, 100, 120, 140, 160, 180} {
		for _, weak := range []float64{0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8} {
			e := NewEstimator(fs)
			g := newAlternans(fs, hr, weak)
			g.feed(e, WindowSeconds)
			for i := range 50 {
				g.feed(e, 0.2)
				r := e.Estimate()
				polls++
				if !r.HeartRateValid {
					continue
				}
				valid++
				if math.Abs(r.HeartRateBPM-hr) > 2 {
					t.Fatalf("%.0f bpm, weak beats at %.0f %%, after %.1f s: a valid %.1f bpm", hr, 100*weak, WindowSeconds+0.2*float64(i+1), r.HeartRateBPM)
				}
			}
		}
	}
	// measured: 1626 of 2800 polls valid (1016 before the upstroke
	// reading, upstroke.go)
	if valid < 1600 {
		t.Errorf("%d of %d polls valid; measured 1626", valid, polls)
	}
	t.Logf("%d of %d polls valid", valid, polls)
}
