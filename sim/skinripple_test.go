package sim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sim/scenario"
)

// The simulated skin never holds one ADS1115 code (at the pod's 4.096 V
// range) for the skin conductance estimator's flat span, 30 s at 4
// samples a second, at any level a scenario may set over an hour: a
// still sleeper is not a stuck converter.
func TestTheSimulatedSkinIsNeverFlat(t *testing.T) {
	const lsb = 4.096 / 32768
	for _, us := range []float64{0.5, 2, 4, 10, 20} {
		sc, err := scenario.Parse(fmt.Appendf(nil, "name: skin\nbaseline: {heart_rate_bpm: 58, spo2_pct: 97, skin_conductance_us: %g, body_temp_c: 36.6}\n", us))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Unix(0, 0)
		h, err := NewHardware(sc, 1, start, nil)
		if err != nil {
			t.Fatal(err)
		}
		run, longest, prev := 0, 0, math.NaN()
		for i := range 4 * 3600 {
			c := math.Round(h.skinVolts(start.Add(time.Duration(i)*time.Second/4)) / lsb)
			if c == prev {
				run++
			} else {
				run = 1
			}
			prev, longest = c, max(longest, run)
		}
		if longest >= 4*30 {
			t.Errorf("%g µS: %d samples (%.1f s) of one code", us, longest, float64(longest)/4)
		}
	}
}
