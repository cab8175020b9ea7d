package vitals

import (
	"math"
	"math/rand/v2"
	"testing"
)

// beatTrain synthesises a pulse of explicit beats: beat k starts at
// onset[k] with amplitude amp[k]; each beat is a systolic wave (peak
// 0.1 s after its foot), a runoff that decays over 0.25 s and lasts into
// the next beats, and a diastolic wave dt after the systolic peak with
// rel of its height. Counts fall at systole, as on the chip.
type beatTrain struct {
	fs, dt, noise float64
	onset, amp    []float64
	rel           float64
	rng           *rand.Rand
}

func (g *beatTrain) beat(tau float64) float64 {
	if tau < 0 {
		return 0
	}
	sys := math.Exp(-math.Pow((tau-0.1)/0.06, 2))
	runoff := 0.35 * math.Exp(-math.Max(tau-0.1, 0)/0.25) * (1 - math.Exp(-tau/0.05))
	dia := g.rel * math.Exp(-math.Pow((tau-0.1-g.dt)/0.06, 2))
	return sys + runoff + dia
}

func (g *beatTrain) at(t float64) float64 {
	p := 0.0
	for k, b := range g.onset {
		if b > t {
			break
		}
		if t-b < 3 {
			p += g.amp[k] * g.beat(t-b)
		}
	}
	return p
}

// alternatingTrain: every other beat has weak times the amplitude.
func alternatingTrain(hr, weak, rel, dt, noise, seconds float64) *beatTrain {
	g := &beatTrain{fs: 25, dt: dt, rel: rel, noise: noise, rng: rand.New(rand.NewPCG(7, 8))}
	for k := 0; float64(k)*60/hr < seconds; k++ {
		g.onset = append(g.onset, float64(k)*60/hr)
		a := 1.0
		if k%2 == 1 {
			a = weak
		}
		g.amp = append(g.amp, a)
	}
	return g
}

// run feeds seconds of g to a new Estimator and polls it every 200 ms
// after the first WindowSeconds; it returns the polls, the valid ones
// and the first valid rate more than 5 bpm off hr (0 if none).
func (g *beatTrain) run(seconds, hr float64) (polls, valid int, wrong float64) {
	e := NewEstimator(g.fs)
	r := ratioForSpO2(97)
	for i := range int(seconds * g.fs) {
		t := float64(i) / g.fs
		p := g.at(t)
		red := 90000*(1-r*0.015*p) + g.noise*g.rng.NormFloat64()
		ir := 120000*(1-0.015*p) + g.noise*g.rng.NormFloat64()
		e.Add(uint32(red), uint32(ir))
		if i%5 == 4 && t >= WindowSeconds {
			polls++
			if es := e.Estimate(); es.HeartRateValid {
				valid++
				if wrong == 0 && math.Abs(es.HeartRateBPM-hr) > 5 {
					wrong = es.HeartRateBPM
				}
			}
		}
	}
	return polls, valid, wrong
}

// altRise's doc (estimator.go) says it is "under the 30 % weak beats that
// a failing ventricle gives (at 30 % a 140 bpm tachycardia read as a
// valid 70 bpm)": midBeats is what keeps such a pulse from a valid half
// rate. It does not when the strong beat has a diastolic wave, as most
// pulses do: the weak beat then rises from the wave's falling limb, its
// rise measured from that foot is under altRise (0.15) of the strong
// beat's, midBeats finds no bump, and the strong beats alone are a
// regular, alike pulse at half the rate. Measured: 140 bpm with weak
// beats at 30 % and a diastolic wave of 20-40 % 0.3 s after systole,
// 160 of 160 polls a valid 70.1 bpm; 150 bpm, 160 of 160 a valid 75;
// 160 bpm, 160 of 160 a valid 80; with weak beats at 25 % the same, and
// at 20 % even without a diastolic wave (0.13-0.15 of the strong rise).
// The same before the a103l merge (the systolic peaks' path): the merge
// did not close it. The sleeper's tachycardia (over heart_rate_high's
// 130 bpm) is hidden behind a normal 70-80 bpm for as long as it lasts:
// no abort. Correct: an alternating pulse is read at its rate or is
// invalid (vitals_stale), never at half; e.g. look for the weak beat by
// its upstroke (a local maximum of the slope in the middle of every
// interval) rather than by a rise measured from a foot that the
// diastolic wave lifts, or lower altRise with a noise floor.
//
// Two of the cases first written here, 150 bpm (weak beats at 30 %) and
// 160 bpm (25 %) with a 40 % wave 0.3 s after systole, are replaced by
// the same pulses with a wave 0.25 and 0.2 s after systole and with a
// 20 % wave: as first written they ask for something the signal does
// not carry. There the wave's top (0.4 s after the strong beat's foot)
// falls on the weak beat's foot (0.4 and 0.375 s): the two merge into
// one hump with one maximum and one upstroke, measured 0.38-0.39 (150
// bpm) and 0.43 (160 bpm) of the way from one strong beat's upstroke to
// the next, the place and shape of a diastolic wave 0.35 s after systole
// in a pulse at 75 bpm (0.44-0.45 there), which
// TestEstimatorDoesNotDoubleADiastolicWaveOfChangingHeight requires to
// be read at its rate: making that hump invalid would make an ordinary
// pulse at 70-80 bpm with a young sleeper's reflected wave invalid, a
// vitals_stale abort of a sleeper at rest. Such a pulse is still read at
// half its rate; this is stated as a limit in the package doc.
func TestReviewAlternatingTachycardiaWithADiastolicWaveIsNotHalved(t *testing.T) {
	for _, c := range []struct{ hr, weak, rel, dt float64 }{
		{140, 0.3, 0.4, 0.3},
		{140, 0.3, 0.2, 0.3},
		{150, 0.3, 0.4, 0.25},
		{150, 0.3, 0.2, 0.3},
		{160, 0.25, 0.4, 0.2},
		{160, 0.25, 0.2, 0.3},
		{140, 0.2, 0, 0.3},
	} {
		g := alternatingTrain(c.hr, c.weak, c.rel, c.dt, 8, 40)
		polls, valid, wrong := g.run(40, c.hr)
		if wrong != 0 {
			t.Errorf("%.0f bpm, weak beats at %.0f %%, diastolic wave %.0f %% %.2f s after systole: %d of %d polls valid, a valid %.1f bpm (want %.0f or invalid)",
				c.hr, 100*c.weak, 100*c.rel, c.dt, valid, polls, wrong, c.hr)
		}
	}
}

// The upstroke reading (upstrokeRate) has no midBeats check: the case in
// Estimate that runs it is reached when the systolic peaks fail, and
// whatever upstrokes pass upstrokeThreshold (0.3 of the steepest within
// localSeconds) are taken as every beat. A slow alternating pulse whose
// weak beats' upstrokes are under 0.3 of the strong ones' gives upstrokes
// of the strong beats only: regular, alike, at half the rate, and valid.
// Measured at 50 bpm (a sleeper's ordinary rate), weak beats at 10-25 %:
// 29-44 of 160 polls a valid 25-26.7 bpm; before the a103l merge 0 of 160
// wrong with no diastolic wave (the path is new). 25 bpm is under
// heart_rate_low (40 bpm): a false bradycardia abort of a sleeper whose
// heart is at 50, and in general a valid half rate from this path. Correct:
// the upstroke path applies the same guard as the systolic one (a rising
// slope maximum in the middle of every interval between the upstrokes
// read makes the reading invalid), or never reads fewer beats than the
// systolic candidates show.
func TestReviewUpstrokesDoNotHalveASlowAlternatingPulse(t *testing.T) {
	for _, weak := range []float64{0.1, 0.2, 0.25} {
		g := alternatingTrain(50, weak, 0, 0.2, 8, 40)
		polls, valid, wrong := g.run(40, 50)
		if wrong != 0 {
			t.Errorf("50 bpm, weak beats at %.0f %%: %d of %d polls valid, a valid %.1f bpm (want 50 or invalid)", 100*weak, valid, polls, wrong)
		}
	}
}

// upstroke.go says doubling a diastolic wave "would still be a wrong valid
// rate, and none was seen". A regular pulse at 80-90 bpm whose diastolic
// wave comes 0.3-0.35 s after systole at 70 % of it (a young sleeper's
// reflected wave; the reflection index is 0.5-0.8 in the young), with
// noise of 40 counts on a pulse of 1800, reads a valid 160-180 bpm:
// measured 13-39 of 160 polls at 80-90 bpm (e.g. 179.8 at 90 bpm). Above
// every allowed heart_rate_high limit: after 10 s a false abort of a
// sleeper at rest (the same before the merge: the systolic path passes
// the wave at riseThreshold when noise lifts it; midBeats cannot see a
// bump between a systole and its own wave). Correct: a valid rate is the
// heart's or none; e.g. check the doubled series' alternate intervals for
// the fixed systole-to-wave delay (the short half stays constant while
// the rate changes), or the beats' alternating red/IR ratio or shape.
func TestReviewALargeDiastolicWaveIsNotDoubled(t *testing.T) {
	for _, c := range []struct{ hr, dt float64 }{{80, 0.35}, {85, 0.35}, {90, 0.3}, {90, 0.35}} {
		g := &beatTrain{fs: 25, dt: c.dt, rel: 0.7, noise: 40, rng: rand.New(rand.NewPCG(9, 10))}
		for k := 0; float64(k)*60/c.hr < 40; k++ {
			g.onset = append(g.onset, float64(k)*60/c.hr)
			g.amp = append(g.amp, 1)
		}
		polls, valid, wrong := g.run(40, c.hr)
		if wrong != 0 {
			t.Errorf("%.0f bpm, diastolic wave of 70 %% %.2f s after systole: %d of %d polls valid, a valid %.1f bpm (want %.0f or invalid)", c.hr, c.dt, valid, polls, wrong, c.hr)
		}
	}
}
