package controller

import (
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// An abort the watchdog latches counts once under its rule; a latch
// restored from the store at start is not counted again.
func TestStatusCountsTheAbortsLatchedSinceTheStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		until(start, 18*time.Second)
		if got := r.pod.Status().Counts.Aborts; len(got) != 0 {
			t.Fatalf("aborts before the episode = %v, want none", got)
		}
		until(start, 70*time.Second)
		if got, want := r.pod.Status().Counts.Aborts, map[string]uint64{safety.RuleHeartRateHigh: 1}; !maps.Equal(got, want) {
			t.Fatalf("aborts after the episode = %v, want %v", got, want)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		b, _ := json.Marshal(safety.Abort{Rule: safety.RuleSpO2Low, At: start.Add(-time.Hour)})
		r := newRig(t, tachycardia, &memStore{latch: b})
		defer r.stop()
		until(start, 15*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted {
			t.Fatalf("state = %s, want the restored latch", st.State)
		}
		if len(st.Counts.Aborts) != 0 {
			t.Fatalf("aborts = %v after a restored latch, want none", st.Counts.Aborts)
		}
	})
}

// Telemetry the store refuses is counted under store_refused, one per
// record, as it is lost (its "dropped" event comes once the store takes
// writes again).
func TestStatusCountsTheTelemetryTheStoreRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		d := &disk{}
		r := newRigWith(t, tachycardia, &memStore{disk: d}, rigOpts{up: &fakeUplink{disk: d}})
		defer r.stop()
		// Telemetry is recorded at 1 s, 2 s, ...: the records of 5 s to 9 s
		// are refused.
		until(start, 4500*time.Millisecond)
		d.fail(errors.New("no space left on device"))
		until(start, 9500*time.Millisecond)
		d.fail(nil)
		until(start, 12*time.Second)
		if got, want := r.pod.Status().Counts.Dropped, map[string]uint64{DropStoreRefused: 5}; !maps.Equal(got, want) {
			t.Fatalf("dropped = %v, want %v", got, want)
		}
	})
}

// The events a full queue lets go are counted under unstored_overflow.
func TestTheQueueCountsTheEventsItLetGo(t *testing.T) {
	q := newEventQueue(2)
	at := time.Unix(1, 0)
	for range 5 {
		q.push(uplink.Event{Type: "fault"}, at)
	}
	if n := q.droppedTotal(); n != 3 {
		t.Fatalf("droppedTotal = %d after 5 events into a queue of 2, want 3", n)
	}
	q.head() // the loss report takes the losses; the total stays
	q.pop()
	if n := q.droppedTotal(); n != 3 {
		t.Fatalf("droppedTotal = %d after the loss report, want 3", n)
	}
}

// Status lists the safety core's loops, the watchdog first, each having
// turned within its period once the pod runs.
func TestStatusReportsHowRecentlyEachLoopTurned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := newRig(t, tachycardia, &memStore{})
		defer r.stop()
		until(start, 5*time.Second+50*time.Millisecond)
		ls := r.pod.Status().Loops
		want := []struct {
			name string
			max  float64
		}{{LoopWatchdog, 0.1}, {LoopSession, 0.2}, {"max30102", 0.2}}
		if len(ls) != len(want) {
			t.Fatalf("loops = %+v, want %d", ls, len(want))
		}
		for i, w := range want {
			if ls[i].Name != w.name || ls[i].SinceTurnS == nil || *ls[i].SinceTurnS < 0 || *ls[i].SinceTurnS > w.max {
				t.Errorf("loop %d = %s %v, want %s within %g s", i, ls[i].Name, ls[i].SinceTurnS, w.name, w.max)
			}
		}
	})
}
