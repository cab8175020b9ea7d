package eeg_test

import (
	"fmt"
	"math"

	"github.com/sleegation/podd/sensors/vitals/eeg"
)

// An ADS1299's frames at 250 sps: 30 s of a 10 Hz alpha rhythm of 20 µV
// amplitude over a 2 Hz delta wave of 40 µV on every channel, then one
// estimate.
func Example() {
	opts := eeg.DefaultOpts
	e, err := eeg.New(opts)
	if err != nil {
		panic(err)
	}
	frame := make([]float64, opts.Channels)
	for i := range 30 * 250 {
		t := float64(i) / 250
		for c := range frame {
			frame[c] = 20*math.Sin(2*math.Pi*10*t) + 40*math.Sin(2*math.Pi*2*t)
		}
		e.Add(frame)
	}
	s := e.Estimate().Summary
	fmt.Printf("valid %v over %d channels\n", s.Valid, s.Segments)
	// A tone's power A²/2, by Simpson's rule on its bins: 8/9 of it here.
	fmt.Printf("delta %.1f µV², alpha %.1f µV², alpha share %.3f\n", s.Abs[eeg.Delta], s.Abs[eeg.Alpha], s.Rel[eeg.Alpha])
	// Output:
	// valid true over 8 channels
	// delta 711.1 µV², alpha 177.8 µV², alpha share 0.200
}
