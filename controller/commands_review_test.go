package controller

import (
	"encoding/base64"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/uplink"
)

// hangingReplies is a fakeUplink whose Reply hangs, once armed, as the
// uplink's durable append hangs on a store whose SD card stopped
// answering.
type hangingReplies struct {
	*fakeUplink
	armed   chan struct{} // closed: Reply hangs
	release chan struct{}
}

func (u *hangingReplies) Reply(r uplink.Reply, at time.Time) (uint64, error) {
	select {
	case <-u.armed:
		<-u.release
	default:
	}
	return u.fakeUplink.Reply(r, at)
}

// One command whose reply hangs on the store (any junk with a jti on the
// cmd topic: it is answered) stalls the command loop, and every command
// after it waits: a merge-wide abort of the pod's own merge is not acted
// on while the store hangs. "Safety never waits on the disk": an abort
// must not wait behind the reply to another command.
func TestAMergeAbortDoesNotWaitBehindAHungReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		fake := &fakeUplink{}
		fake.connected.Store(true)
		up := &hangingReplies{fakeUplink: fake, armed: make(chan struct{}), release: make(chan struct{})}
		h := newHub(t)
		r := newRigWith(t, calm, &memStore{}, rigOpts{up: fake, uplink: up, hubKeys: h.keys})
		defer r.stop()
		defer close(up.release)
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("api", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatal(err)
		}
		until(start, 81*time.Second)
		if st := r.pod.Status(); st.State != StateMerged {
			t.Fatalf("state %s, want merged", st.State)
		}
		close(up.armed)
		// A signed command the pod refuses (identify during a merge), and
		// answers: its reply is what hangs.
		refused := h.sign(h.trusted, hubcmd.Identify{Duration: 10 * time.Second})
		fake.Commands()
		fake.cmds <- uplink.Inbound{Topic: uplink.Root("pod-1") + uplink.TopicCmd, Payload: refused.Raw}
		fake.MergeAborts()
		fake.aborts <- uplink.Inbound{Topic: "sleegation/v1/merges/m-1/abort", Session: "m-1"}
		until(start, 91*time.Second)
		// The refusal's event was stored before its reply hung the store
		// (the abort's may be stored before it or wait in memory behind
		// the reply); the abort itself did not wait.
		found := false
		for _, e := range fake.Events("command") {
			found = found || e.Fields["jti"] == refused.ID
		}
		if !found {
			t.Fatalf("command events %+v, want the refusal among them (its reply is what hangs)", fake.Events("command"))
		}
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state %s 10 s after the merge-wide abort of m-1 (queued behind a reply hung on the store), want idle", st.State)
		}
	})
}

// MQTT QoS 1 is at least once: a broker redelivers a command the pod
// received when the connection drops before its PUBACK. The pod then
// answers the same jti twice, ok and then "replayed", and a hub that reads
// the last reply for a jti takes a merge the pod is running for refused.
// A duplicate of an accepted jti should repeat the first answer (or none).
func TestARedeliveredCommandIsNotAnsweredAsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("button", 0); err != nil {
			t.Fatal(err)
		}
		tok := h.sign(h.trusted, start1())
		send(r, tok.Raw)
		send(r, tok.Raw) // the broker's redelivery
		if st := r.pod.Status(); st.State != StateBaseline {
			t.Fatalf("state %s, want baseline", st.State)
		}
		var oks []bool
		for _, rep := range r.up.Replies() {
			if rep.JTI == tok.ID {
				oks = append(oks, rep.OK)
			}
		}
		for _, ok := range oks {
			if !ok {
				t.Fatalf("replies for jti %s: ok %v; the merge it started is running", tok.ID, oks)
			}
		}
	})
}

// Anyone who can publish on the pod's cmd topic makes it write two durable
// records (a command event and a reply) per message, for messages that
// carry no valid signature at all: no rate limit, no aggregation. A burst
// fills the outbox with refusals (which, once telemetry is gone, evicts the
// oldest events, abort events included) and wears the SD card.
func TestUnsignedJunkIsNotAmplifiedIntoDurableRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		h := newHub(t)
		r := commandRig(t, h, calm, false)
		defer r.stop()
		until(start, 20*time.Second)
		const n = 100
		for i := range n {
			// {"cmd":"identify","jti":"j<i>"} unsigned
			payload := base64url(`{"cmd":"identify","jti":"j` + itoa(i) + `"}`)
			send(r, []byte("eyJhbGciOiJub25lIn0."+payload+"."))
		}
		synctest.Wait()
		until(start, 21*time.Second)
		ev, rep := len(r.up.Events("command")), len(r.up.Replies())
		if ev+rep > 10 {
			t.Fatalf("%d unsigned junk messages made %d command events and %d replies, all durable", n, ev, rep)
		}
	})
}

func base64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func itoa(i int) string { return strconv.Itoa(i) }
