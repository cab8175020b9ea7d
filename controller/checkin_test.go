package controller

import (
	"testing"
	"testing/synctest"
	"time"
)

// The session loop checks in on every tick, from its start.
func TestTheSessionLoopChecksIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRigWith(t, calm, &memStore{}, rigOpts{})
		defer r.stop()
		for _, at := range []time.Duration{time.Second, 20 * time.Second, 95 * time.Second} {
			until(start, at)
			if d := r.pod.sessionTurn.since(time.Now()); d < 0 || d > sessionTick {
				t.Fatalf("at %v: the session loop last turned %v ago, want within %v", at, d, sessionTick)
			}
			if _, stuck := r.pod.stuckSession(); stuck {
				t.Fatalf("at %v: the session loop counts as stuck", at)
			}
		}
	})
}

// A session loop that has not turned for sessionStalledAfter is stuck,
// and not a moment sooner; one that never turned (not started) is not.
func TestASessionLoopIsStuckAfterSessionStalledAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &Pod{}
		p.sessionTurn.start(time.Now())
		if d, stuck := p.stuckSession(); stuck || d != notTurned {
			t.Fatalf("before the first turn: stuckSession = %v, %v; want %v, false", d, stuck, time.Duration(notTurned))
		}
		time.Sleep(time.Hour)
		if _, stuck := p.stuckSession(); stuck {
			t.Fatal("an hour after a start without a turn: stuck, want not (the loop has not started)")
		}
		p.sessionTurn.turn(time.Now())
		time.Sleep(sessionStalledAfter - time.Millisecond)
		if d, stuck := p.stuckSession(); stuck || d != sessionStalledAfter-time.Millisecond {
			t.Fatalf("just before the bound: stuckSession = %v, %v; want %v, false", d, stuck, sessionStalledAfter-time.Millisecond)
		}
		time.Sleep(time.Millisecond)
		if d, stuck := p.stuckSession(); !stuck || d != sessionStalledAfter {
			t.Fatalf("at the bound: stuckSession = %v, %v; want %v, true", d, stuck, sessionStalledAfter)
		}
		p.sessionTurn.turn(time.Now())
		if d, stuck := p.stuckSession(); stuck || d != 0 {
			t.Fatalf("after a turn: stuckSession = %v, %v; want 0, false", d, stuck)
		}
	})
}
