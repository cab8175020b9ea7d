package sim

import (
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sleegation/podd/sensors/eda"
)

// SkinConductance synthesises a sleeper's skin conductance: a tonic level
// with a slow drift, plus phasic skin conductance responses (SCRs) at random
// times.
//
// The drift is DriftUS × (sin(2πt/7 min + φ₁) + sin(2πt/23 min + φ₂))/2, the
// phases from Seed. Each SCR has the shape of the Bateman function used by
// Benedek and Kaernbach's decomposition (J. Neurosci. Methods 190, 2010;
// Ledalab's default time constants):
//
//	scr(t) = A · (e^(−t/3.75 s) − e^(−t/1 s)) / peak,   t ≥ 0
//
// a rise to its peak A in 1.8 s, then a recovery to half of it 3.7 s after
// the peak. Onsets form a Poisson process of PhasicRate a minute from Seed;
// each amplitude is drawn uniformly from 0.5 to 1.5 × PhasicAmpUS. The
// conductance never goes below 0.
type SkinConductance struct {
	TonicUS     float64 // tonic level, µS
	DriftUS     float64 // amplitude of the tonic level's slow drift, µS
	PhasicRate  float64 // mean SCRs a minute; 0 for none
	PhasicAmpUS float64 // mean SCR amplitude, µS
	Seed        uint64
}

// The SCR's time constants, and how long after its onset an SCR is still
// counted (e^(−60/3.75) is 1e-7 of its amplitude).
const (
	scrTauRise  = 1.0
	scrTauDecay = 3.75
	scrSpan     = 60 * time.Second
)

// scrPeak is the Bateman function's maximum, at t = ln(τd/τr)·τr·τd/(τd−τr).
var scrPeak = func() float64 {
	t := math.Log(scrTauDecay/scrTauRise) * scrTauRise * scrTauDecay / (scrTauDecay - scrTauRise)
	return math.Exp(-t/scrTauDecay) - math.Exp(-t/scrTauRise)
}()

func scrShape(t float64) float64 {
	if t < 0 {
		return 0
	}
	return (math.Exp(-t/scrTauDecay) - math.Exp(-t/scrTauRise)) / scrPeak
}

// Microsiemens returns the conductance, in µS, at a time since the start of
// the night (negative times are the start). The function is deterministic
// for a Seed, whatever order it is called in, and safe for concurrent use;
// it draws the SCRs as far as the latest time asked for.
func (s SkinConductance) Microsiemens() func(time.Duration) float64 {
	rng := rand.New(rand.NewPCG(s.Seed, 0xEDA))
	ph1, ph2 := 2*math.Pi*rng.Float64(), 2*math.Pi*rng.Float64()
	type scr struct {
		at  time.Duration
		amp float64
	}
	var (
		mu     sync.Mutex
		scrs   []scr         // drawn, in order of onset
		next   time.Duration // the onset after them, once drawn
		haveNx bool
	)
	draw := func() time.Duration { // the gap to the next onset
		return time.Duration(rng.ExpFloat64() * 60 / s.PhasicRate * float64(time.Second))
	}
	return func(t time.Duration) float64 {
		t = max(t, 0)
		mins := t.Minutes()
		g := s.TonicUS + s.DriftUS*(math.Sin(2*math.Pi*mins/7+ph1)+math.Sin(2*math.Pi*mins/23+ph2))/2
		if s.PhasicRate > 0 && s.PhasicAmpUS > 0 {
			mu.Lock()
			if !haveNx {
				next, haveNx = draw(), true
			}
			for next <= t {
				scrs = append(scrs, scr{at: next, amp: s.PhasicAmpUS * (0.5 + rng.Float64())})
				next += draw()
			}
			// Only the last minute counts; onsets after t add 0.
			for i := len(scrs) - 1; i >= 0 && scrs[i].at > t-scrSpan; i-- {
				g += scrs[i].amp * scrShape((t - scrs[i].at).Seconds())
			}
			mu.Unlock()
		}
		return max(g, 0)
	}
}

// Volts returns what the ADC reads across the skin of this conductance in
// the divider d, in V, at a time since the start of the night: the input to
// give NewADS1115.
func (s SkinConductance) Volts(d eda.Divider) func(time.Duration) float64 {
	us := s.Microsiemens()
	return func(t time.Duration) float64 { return d.Volts(us(t)) }
}
