package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// BodyTemperature synthesises a sleeper's skin-surface body temperature, as
// a TMP117 taped to the skin measures it: BaseC at the start of the night,
// a linear drift of DriftCPerHour (a sleeping body cools in the first hours:
// a few tenths of a degree an hour), and a slow wander of at most WanderC:
// WanderC × (sin(2πt/3 min + φ₁) + sin(2πt/11 min + φ₂) + sin(2πt/29 min +
// φ₃))/3, the phases from Seed.
type BodyTemperature struct {
	BaseC         float64 // °C at the start
	DriftCPerHour float64 // °C an hour; negative cools
	WanderC       float64 // °C, the wander's largest excursion
	Seed          uint64
}

// Celsius returns the temperature, in °C, at a time since the start of the
// night (negative times are the start); it is deterministic for a Seed and
// safe for concurrent use.
func (b BodyTemperature) Celsius() func(time.Duration) float64 {
	rng := rand.New(rand.NewPCG(b.Seed, 0x117))
	var ph [3]float64
	for i := range ph {
		ph[i] = 2 * math.Pi * rng.Float64()
	}
	return func(t time.Duration) float64 {
		t = max(t, 0)
		m := t.Minutes()
		w := (math.Sin(2*math.Pi*m/3+ph[0]) + math.Sin(2*math.Pi*m/11+ph[1]) + math.Sin(2*math.Pi*m/29+ph[2])) / 3
		return b.BaseC + b.DriftCPerHour*t.Hours() + b.WanderC*w
	}
}
