package eda

import (
	"math"
	"testing"
)

// The tonic level is a skin conductance, µS, published as telemetry's
// vitals.skin_conductance_us, whose schema (contract/schemas/telemetry.json)
// says minimum 0. What is wrong: the tonic is the output of a second-order
// Butterworth low-pass, whose step response overshoots (about 4 %), and a
// reading stays valid through a fall that is within
// MaxSlopeMicrosiemensPerSecond: after a fall from 50 µS to 0.1 µS over
// about 5 s (a sweating sleeper who cools, or an electrode peeling off
// slowly) the tonic undershoots below 0 and a valid, negative skin
// conductance is reported, which breaks the contract (and is not a
// conductance). Correct: a valid tonic level is never below the least
// sample that went into it (clamp it at MinContactMicrosiemens, or judge
// the undershoot invalid).
func TestReviewTonicNeverNegativeWhileValid(t *testing.T) {
	const fs = 4.0
	e, err := New(fs)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	add := func(us float64) Reading {
		// A wander of 0.2 % keeps the signal from being flat.
		e.Add(us * (1 + 0.002*math.Sin(float64(i)/3)))
		i++
		return e.Estimate()
	}
	for range int(120 * fs) {
		add(50)
	}
	if r := e.Estimate(); !r.Valid {
		t.Fatalf("after 120 s at 50 µS: %+v, want valid", r)
	}
	// Down at 9.6 µS/s: 2.4 µS a sample, under the 10 µS/s jump limit.
	for us := 50.0; us > 0.1; us -= 2.4 {
		add(us)
	}
	least := math.Inf(1)
	for range int(60 * fs) {
		if r := add(0.1); r.Valid {
			least = min(least, r.TonicMicrosiemens)
		}
	}
	if least < 0 {
		t.Errorf("a valid tonic level of %.3f µS: a negative skin conductance, which telemetry's schema refuses (minimum 0)", least)
	}
}
