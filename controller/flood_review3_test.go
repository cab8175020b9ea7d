package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

// handleCommand's doc: "a flood on the cmd topic is not turned into
// records on the SD card". A command the hub signed is no proof that the
// hub sent it now: anyone who can read the broker can keep it and publish
// it again, to this pod once it has expired, or to another pod (wrong
// audience). Each such copy is refused with Signed true, outside the
// budget of unauthenticated refusals, and becomes an audited command event
// and a reply: a flood of copies of one token fills the audit log
// (storage.max_audit_entries, the oldest entries pruned: the record of an
// abort or a panic among them) and the outbox.
func TestCopiesOfASignedCommandAreNotAmplifiedIntoDurableRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		// The hub's telemetry/interval for another pod, read on the broker.
		other, err := h.trusted.Sign(hubcmd.TelemetryInterval{Interval: 5 * time.Second}, "pod-2")
		if err != nil {
			t.Fatal(err)
		}
		// The hub's telemetry/interval for this pod, kept until it expired.
		mine := h.sign(h.trusted, hubcmd.TelemetryInterval{Interval: 2 * time.Second})
		send(r, mine.Raw)
		if rep := lastReply(t, r); rep.JTI != mine.ID || !rep.OK {
			t.Fatalf("the hub's own command: %+v, want ok", rep)
		}
		until(start, 20*time.Second+hubcmd.MaxLifetime+time.Minute)
		before, beforeRep := len(r.up.Events("command")), len(r.up.Replies())
		const n = 100
		for range n {
			send(r, other.Raw)
			send(r, mine.Raw)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ev := r.up.Events("command")[before:]
		rep := r.up.Replies()[beforeRep:]
		if len(ev) > 2*unauthenticatedBurst || len(rep) > 2*unauthenticatedBurst {
			t.Fatalf("%d copies of two signed tokens (one for pod-2, one expired) in a second made %d audited command events and %d replies, want at most %d of each",
				2*n, len(ev), len(rep), 2*unauthenticatedBurst)
		}
	})
}
