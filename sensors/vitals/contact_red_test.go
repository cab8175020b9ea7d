package vitals

import "testing"

// ARCHITECTURE.md: "Fail safe. Loss of a sensor ... is treated as unsafe";
// Contact's doc: ContactNone is "the sensor answers and sees no finger",
// and ContactUnknown is for a reading that "says nothing of it (a sensor
// that did not answer ...)". An IR LED that has failed (or an IR channel
// that reads dark) under a finger the red channel still sees, at a
// finger's level with its pulse, is not an empty sensor: an empty one
// returns little light on both channels. Contact judges the IR channel
// alone and says "none", which the safety watchdog takes for an empty pod:
// outside a merge vitals_stale is disarmed and the sleeper goes
// unwatched, with no fault reported.
func TestEstimatorContactIsNotNoneWhileRedSeesAFinger(t *testing.T) {
	const fs = 25
	g := newPPG(fs, 60, 97)
	e := NewEstimator(fs)
	for range 10 * fs {
		red, _ := g.next()
		e.Add(red, uint32(2000+g.rng.IntN(200))) // the IR channel dark: ambient light and noise
	}
	if got := e.Estimate().Contact; got == ContactNone {
		t.Errorf("contact %v with the red channel at a finger's level (mean above MinDC, pulsing) and IR dark; want unknown or skin, never none", got)
	}
}
