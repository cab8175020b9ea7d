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
// invalid when there is ... no regular pulse"; Reading's doc: "A value is
// meaningful only when its Valid flag is set". A pulse at 140 bpm whose
// every other beat rises to 30 % of the one before (pulsus alternans, of
// a failing left ventricle; at 35 % it happens now and then) is a
// tachycardia above the 130 bpm limit.
// The Estimator must report it as such or not at all (then vitals_stale
// acts). It reports a valid, regular 70 bpm instead: the weak beats fall
// under riseThreshold against their strong neighbours, the strong beats
// alone are regular and alike, and heart_rate_high never trips.
func TestEstimatorDoesNotHalveAnAlternatingTachycardia(t *testing.T) {
	t.Skip("known defect, open: a 140 bpm pulsus alternans with weak beats at 30 % reads as a valid 70 bpm (the weak beats fall under the rise threshold); the estimator must say invalid or 140, never a valid half rate")
	const fs, hr = 25.0, 140.0
	e := NewEstimator(fs)
	g := newAlternans(fs, hr, 0.3)
	g.feed(e, WindowSeconds)
	for i := range 20 {
		g.feed(e, 0.2)
		r := e.Estimate()
		if r.HeartRateValid && math.Abs(r.HeartRateBPM-hr) > 10 {
			t.Fatalf("after %.1f s: valid heart rate %.1f bpm; want %.0f ± 10 bpm or invalid", WindowSeconds+0.2*float64(i+1), r.HeartRateBPM, hr)
		}
	}
}
