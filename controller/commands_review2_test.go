package controller

import (
	"fmt"
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

// "What anyone could have sent ... gets no reply, and at most one event a
// minute: a flood on the cmd topic is not turned into records on the SD
// card." An unsigned merge/abort that names another merge is exactly that
// (anyone can write one, and it is refused), yet each gets a command event
// and a reply, both stored: 100 of them in one second are 200 records.
func TestAFloodOfUnsignedAbortsIsNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		before := len(r.up.Events("command"))
		for i := range 100 {
			junk, err := hubcmd.EncodeUnsignedAbort("junk-"+string(rune('a'+i%26))+string(rune('a'+i/26)), []string{"pod-1"}, hubcmd.MergeAbort{Session: "m-none"})
			if err != nil {
				t.Fatal(err)
			}
			send(r, junk)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		ev, rep := len(r.up.Events("command"))-before, len(r.up.Replies())
		if ev > 1 || rep > 0 {
			t.Fatalf("100 unsigned, refused aborts in a second: %d command events and %d replies stored, want at most 1 event and no reply", ev, rep)
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
