package controller

import (
	"encoding/json"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// storedLatchOf decodes the latch r's store holds.
func storedLatchOf(t *testing.T, s *memStore) storedLatch {
	t.Helper()
	b, ok, _ := s.Latch()
	var l storedLatch
	if !ok || json.Unmarshal(b, &l) != nil {
		t.Fatalf("stored latch %q", b)
	}
	return l
}

// The latch is stored before the abort event, in a commit of its own; it
// says whether the event is stored too, and says so only once it is.
func TestTheStoredLatchSaysWhetherItsAbortEventIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		events := &disk{}
		store := &memStore{}
		r := newRigWith(t, tachycardia, store, rigOpts{up: &fakeUplink{disk: events}})
		defer r.stop()

		until(start, 18*time.Second)
		events.fail(syscall.EIO) // the events cannot be stored; the latch can
		until(start, 70*time.Second)
		l := storedLatchOf(t, store)
		if l.Rule != safety.RuleHeartRateHigh || l.Reported == nil || *l.Reported {
			t.Fatalf("stored latch %+v reported %v, want heart_rate_high, its event not stored", l.Abort, l.Reported)
		}
		if got := r.up.Events("abort"); len(got) != 0 {
			t.Fatalf("abort events stored %+v while the store refused them", got)
		}

		events.fail(nil)
		time.Sleep(2 * time.Second) // the recorder retries every second
		synctest.Wait()
		if got := r.up.Events("abort"); len(got) != 1 {
			t.Fatalf("abort events %+v, want the one", got)
		}
		if l := storedLatchOf(t, store); l.Reported == nil || !*l.Reported || l.Rule != safety.RuleHeartRateHigh {
			t.Fatalf("stored latch %+v reported %v once its event was stored, want reported", l.Abort, l.Reported)
		}
	})
}

// A run killed after storing its latch and before storing the abort event
// leaves a latch not marked reported: the next start restores it and posts
// its abort event, as the abort was, before its state event, and marks it
// reported, so a further start does not post it again.
func TestAStoredLatchWhoseEventWasLostIsReportedAtTheStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		a := safety.Abort{Rule: safety.RuleHeartRateHigh, Detail: "heart_rate_bpm 150.0 above 130", Values: map[string]float64{"heart_rate_bpm": 150},
			Limit: 130, At: start.Add(-time.Minute).UTC(), LatencyMS: 0.2}
		no := false
		b, err := json.Marshal(storedLatch{Abort: a, Reported: &no})
		if err != nil {
			t.Fatal(err)
		}
		store := &memStore{latch: b}
		r := newRig(t, tachycardia, store)
		until(start, 5*time.Second)
		st := r.pod.Status()
		if st.State != StateAborted || st.Safety.Latched == nil || st.Safety.Latched.Rule != a.Rule || !st.Safety.Latched.At.Equal(a.At) {
			t.Fatalf("status after the start = %+v, want the stored latch restored", st)
		}
		aborts := r.up.Events("abort")
		if len(aborts) != 1 {
			t.Fatalf("abort events %+v, want the stored latch's", aborts)
		}
		f := aborts[0].Fields
		if f["rule"] != a.Rule || f["detail"] != a.Detail || f["detected_at"] != uplink.FormatTime(a.At) || f["limit"] != a.Limit || f["latency_ms"] != a.LatencyMS {
			t.Fatalf("abort event %+v, want the stored abort %+v", f, a)
		}
		r.up.mu.Lock()
		config, first, at := r.up.events[0], r.up.events[1], r.up.times[1]
		r.up.mu.Unlock()
		if config.Type != "config" || first.Type != "abort" || !at.Equal(a.At) {
			t.Fatalf("first events %+v, then %+v at %v; want the start's config, then the abort, at its detection", config, first, at)
		}
		if got := stateEvents(r.up); len(got) != 1 || got[0] != "offline>aborted" {
			t.Fatalf("state events %v", got)
		}
		if l := storedLatchOf(t, store); l.Reported == nil || !*l.Reported {
			t.Fatalf("stored latch reported %v after its event was stored, want true", l.Reported)
		}
		r.stop()

		again := newRig(t, tachycardia, store)
		defer again.stop()
		until(start, 10*time.Second)
		if st := again.pod.Status(); st.State != StateAborted {
			t.Fatalf("state after the second start %s, want aborted", st.State)
		}
		if got := again.up.Events("abort"); len(got) != 0 {
			t.Fatalf("the second start reported the abort again: %+v", got)
		}
	})
}
