package controller

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
)

// Anyone may publish an unsigned merge/abort on the cmd topic, with any
// jti. hubcmd keeps such a jti out of its replay cache precisely so that
// it "cannot spend the jti of a signed command"; but the controller's
// answered cache records the reply to it, and a signed command arriving
// later with that jti is then answered from the cache and never acted on.
// Here the hub's own signed merge/abort of the pod's merge is swallowed by
// an earlier unsigned abort of another session carrying the same jti (a
// hub that retries with the same jti, or a predictable jti, is all it
// takes): the merge goes on.
func TestAnUnsignedAbortCannotSpendTheJTIOfASignedAbort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		signed := h.sign(h.trusted, hubcmd.MergeAbort{Session: "m-1", Reason: "instability"})
		// The hostile one: same jti, another merge, no signature.
		junk, err := hubcmd.EncodeUnsignedAbort(signed.ID, []string{"pod-1"}, hubcmd.MergeAbort{Session: "m-other"})
		if err != nil {
			t.Fatal(err)
		}
		send(r, junk)
		if st := r.pod.Status(); st.State != StateBaseline {
			t.Fatalf("state %s after an abort of another merge, want baseline", st.State)
		}
		send(r, signed.Raw)
		if st := r.pod.Status(); st.State != StateIdle || st.Session != nil {
			t.Fatalf("state %s, session %+v after the hub's signed merge/abort of m-1 (jti %s): the merge was not ended", st.State, st.Session, signed.ID)
		}
	})
}

// What anyone could have sent is reported within a budget: an unsigned
// merge/abort that names another merge (anyone can write one, and it is
// refused) gets an event and a reply for the first unauthenticatedBurst of
// a flood; the other 95 of 100 in a second are counted in the next event,
// once the budget has come back, not stored one by one.
func TestAFloodOfUnsignedAbortsIsNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		before := len(r.up.Events("command"))
		junk := func(i int) []byte {
			b, err := hubcmd.EncodeUnsignedAbort(fmt.Sprintf("junk-%d", i), []string{"pod-1"}, hubcmd.MergeAbort{Session: "m-none"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		for i := range 100 {
			send(r, junk(i))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ev, rep := r.up.Events("command")[before:], r.up.Replies()
		if len(ev) != unauthenticatedBurst || len(rep) != unauthenticatedBurst {
			t.Fatalf("100 unsigned, refused aborts in a second: %d command events and %d replies stored, want %d of each", len(ev), len(rep), unauthenticatedBurst)
		}
		for i, rp := range rep {
			if rp.JTI != fmt.Sprintf("junk-%d", i) || rp.OK || !strings.HasPrefix(rp.Error, RefuseNoSession+": ") {
				t.Fatalf("reply %d: %+v, want junk-%d refused for %s", i, rp, i, RefuseNoSession)
			}
		}
		until(start, 20*time.Second+unauthenticatedRefill/unauthenticatedBurst+2*time.Second)
		send(r, junk(100))
		ev = r.up.Events("command")[before:]
		if len(ev) != unauthenticatedBurst+1 || ev[len(ev)-1].Fields["unreported_before"] != 100-unauthenticatedBurst || ev[len(ev)-1].Fields["jti"] != "junk-100" {
			t.Fatalf("the event once the budget came back: %+v, want junk-100 with unreported_before %d", ev[len(ev)-1].Fields, 100-unauthenticatedBurst)
		}
	})
}

// A redelivered command gets its first answer again, from the answered
// cache. Anyone can empty that cache: unsigned merge/aborts, each with a
// jti of its own, are answered and cached too, and 256 of them push the
// hub's command out. Its redelivery is then answered "replayed", ok
// false: the hub is told a command it had done was refused.
func TestUnsignedAbortsDoNotEvictTheAnswersToSignedCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		tok := h.sign(h.trusted, hubcmd.TelemetryInterval{Interval: 5 * time.Second})
		send(r, tok.Raw)
		if rep := lastReply(t, r); rep.JTI != tok.ID || !rep.OK {
			t.Fatalf("first reply %+v", rep)
		}
		for i := range answeredMax {
			junk, err := hubcmd.EncodeUnsignedAbort(fmt.Sprintf("junk-%d", i), nil, hubcmd.MergeAbort{})
			if err != nil {
				t.Fatal(err)
			}
			send(r, junk)
		}
		send(r, tok.Raw) // the broker's redelivery
		if rep := lastReply(t, r); rep.JTI != tok.ID || !rep.OK {
			t.Fatalf("reply to the redelivered command %+v, want its first answer (ok)", rep)
		}
	})
}

// While the store refuses writes the pod keeps 256 events in memory and
// lets the oldest non-abort go. Replies to unsigned aborts (anyone's) count
// in the same queue, so a burst of them while the disk is full pushes out
// what the sleeper did: the panic event is never stored, only a count of
// what was let go.
func TestUnsignedAbortsDoNotPushThePanicEventOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		events := &disk{}
		up := &fakeUplink{disk: events}
		up.connected.Store(true)
		r := newRigWith(t, calm, &memStore{}, rigOpts{up: up, hubKeys: h.keys})
		defer r.stop()
		until(start, 20*time.Second)
		events.fail(syscall.ENOSPC)
		r.pod.Panic("button")
		for i := range 300 {
			junk, err := hubcmd.EncodeUnsignedAbort(fmt.Sprintf("junk-%d", i), nil, hubcmd.MergeAbort{})
			if err != nil {
				t.Fatal(err)
			}
			send(r, junk)
		}
		events.fail(nil)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := r.up.Events("panic"); len(got) != 1 {
			t.Fatalf("panic events stored %+v, want the one: pushed out of memory by %d replies to unsigned aborts (dropped reports: %+v)", got, len(r.up.Replies()), r.up.Events("dropped"))
		}
	})
}
