package controller

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/journal"
)

// With the store's replay cache (as podd wires it): while the store is not
// open, every signed command but merge/abort is refused replay_unchecked
// and changes nothing, and a merge/abort still ends the merge; once the
// store is open, a command is accepted and its replay refused, also by a
// pod started afresh on the same file.
func TestTheStoresReplayCacheFailsClosedAndOutlivesThePod(t *testing.T) {
	path := filepath.Join(t.TempDir(), "podd.db")
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		slot := journal.NewSlot()
		defer slot.Close()
		cache, err := journal.NewReplayCache(slot, journal.ReplayLimits{Lifetime: hubcmd.MaxRemainingLife}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		up := &fakeUplink{}
		up.connected.Store(true)
		r := newRigWith(t, calm, &memStore{}, rigOpts{up: up, hubKeys: h.keys, replay: cache})
		running := true
		defer func() {
			if running {
				r.stop()
			}
		}()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		tok := h.sign(h.trusted, start1())
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.OK || !strings.HasPrefix(rep.Error, string(hubcmd.ReasonReplayUnchecked)+": ") {
			t.Fatalf("merge/start while the store is not open: %+v, want refused replay_unchecked", rep)
		}
		if st := r.pod.Status(); st.State != StateIdle || st.Session != nil {
			t.Fatalf("state %s after a refused merge/start", st.State)
		}
		if err := r.pod.StartMerge(merge1); err != nil { // locally, for the abort to end
			t.Fatal(err)
		}
		abort := h.sign(h.trusted, hubcmd.MergeAbort{Session: "m-1"})
		send(r, abort.Raw)
		if rep := lastReply(t, r); rep.JTI != abort.ID || !rep.OK {
			t.Fatalf("signed merge/abort while the store is not open: %+v, want ok", rep)
		}
		if st := r.pod.Status(); st.State != StateIdle || st.Session != nil {
			t.Fatalf("state %s after merge/abort, want idle", st.State)
		}
		// Aborts are verified with a replay cache in memory (they never
		// wait for the store): this one is signed, verified.
		if ev := r.up.Events("command"); ev[len(ev)-1].Fields["signed"] != true || ev[len(ev)-1].Fields["unverified"] != nil {
			t.Fatalf("the abort's event %+v: want signed and verified without the store", ev[len(ev)-1])
		}

		s, err := journal.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := slot.Set(s); err != nil {
			t.Fatal(err)
		}
		interval := h.sign(h.trusted, hubcmd.TelemetryInterval{Interval: 2 * time.Second})
		send(r, interval.Raw)
		if rep := lastReply(t, r); rep.JTI != interval.ID || !rep.OK {
			t.Fatalf("telemetry/interval with the store open: %+v, want ok", rep)
		}
		r.stop()
		running = false
		if err := slot.Close(); err != nil {
			t.Fatal(err)
		}

		// The pod starts again on the same file: the command is a replay.
		slot2 := journal.NewSlot()
		defer slot2.Close()
		s2, err := journal.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := slot2.Set(s2); err != nil {
			t.Fatal(err)
		}
		cache2, err := journal.NewReplayCache(slot2, journal.ReplayLimits{Lifetime: hubcmd.MaxRemainingLife}, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		up2 := &fakeUplink{}
		up2.connected.Store(true)
		r2 := newRigWith(t, calm, &memStore{}, rigOpts{up: up2, hubKeys: h.keys, replay: cache2})
		defer r2.stop()
		until(start, 40*time.Second)
		send(r2, interval.Raw)
		if rep := lastReply(t, r2); rep.JTI != interval.ID || rep.OK || !strings.HasPrefix(rep.Error, string(hubcmd.ReasonReplayed)+": ") {
			t.Fatalf("the command again after a restart: %+v, want refused replayed", rep)
		}
		if got := time.Duration(r2.pod.telemetryEvery.Load()); got != time.Second {
			t.Fatalf("telemetry interval %v after the refused replay, want 1 s", got)
		}
	})
}
