package actuators

import (
	"errors"
	"testing"
)

// Gate.Open refuses while a Halt is in progress, but not when the last
// Halt of an output failed: Unsafe names that output ("that output may
// still emit light or move"; "its safe state must be applied again"), and
// yet an acknowledgement reopens the gate over it, resumes it, and from
// then on Unsafe returns nil, so the controller's loop that re-applies the
// safe state until Unsafe is empty stops retrying. A strip that still
// shows its last frame, or a DRV2605L still driving its motor, goes back
// to normal output without ever having been made safe. Correct: Open and
// OpenSince refuse while any output is not known to be in its safe state
// (Unsafe not empty), with an error naming it, as for a Halt in progress.
func TestOpenRefusesWhileAnOutputsHaltFailed(t *testing.T) {
	a, b := newFake("light", nil), newFake("haptics", errors.New("bus error"))
	g := NewGate(a, b)
	if err := g.SafeState(); err == nil {
		t.Fatal("SafeState: no error from the failing output")
	}
	if u := g.Unsafe(); !equal(u, []string{"haptics"}) {
		t.Fatalf("Unsafe = %v, want [haptics]", u)
	}
	if err := g.OpenSince(g.Generation()); err == nil {
		t.Errorf("OpenSince reopened the gate over haptics, whose Halt failed; Unsafe now %v", g.Unsafe())
	}
	if !g.Safe() {
		t.Error("the gate is open while haptics never reached its safe state")
	}
}
