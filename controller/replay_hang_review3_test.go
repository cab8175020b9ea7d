package controller

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/uplink"
)

// hangingReplay is a replay cache whose Seen hangs, once armed, as
// journal.ReplayCache.Seen hangs on an SD card that stopped answering (its
// transaction is committed with fsync before it returns, and waits for
// bbolt's one writer, which may be the outbox's commit stuck in fsync).
type hangingReplay struct {
	*hubcmd.MemoryReplayCache
	armed   chan struct{} // closed: Seen hangs
	release chan struct{}
}

func (c *hangingReplay) Seen(jti string, exp time.Time) (bool, error) {
	select {
	case <-c.armed:
		<-c.release
	default:
	}
	return c.MemoryReplayCache.Seen(jti, exp)
}

func newHangingReplay(t *testing.T) *hangingReplay {
	t.Helper()
	c := hubcmd.NewMemoryReplayCache(0, time.Now)
	return &hangingReplay{MemoryReplayCache: c, armed: make(chan struct{}), release: make(chan struct{})}
}

// mergedWithHungDisk is a pod in merge m-1 whose replay cache hangs.
func mergedWithHungDisk(t *testing.T, start time.Time) (*rig, *hub, *hangingReplay) {
	t.Helper()
	h := newHub(t)
	replay := newHangingReplay(t)
	up := &fakeUplink{}
	up.connected.Store(true)
	r := newRigWith(t, calm, &memStore{}, rigOpts{up: up, hubKeys: h.keys, replay: replay})
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
	close(replay.armed)
	return r, h, replay
}

// "An abort must never wait on the disk or the network"; ARCHITECTURE:
// "Safety never waits on the network, the disk or the log"; handleCommand's
// doc: "It never waits for the disk". The hub's own merge/abort, signed as
// the hub signs every command, is not acted on until the verifier has
// recorded its jti in the store's replay cache (a durable bbolt
// transaction): on an SD card that stopped answering the merge goes on, for
// as long as the card hangs. An abort that is accepted even unsigned and
// even "when the replay cache fails" must not wait for the cache at all.
func TestTheHubsSignedMergeAbortDoesNotWaitOnTheReplayCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, h, replay := mergedWithHungDisk(t, start)
		defer r.stop()
		defer close(replay.release)
		abort := h.sign(h.trusted, hubcmd.MergeAbort{Session: "m-1", Reason: "instability across the merge"})
		r.up.Commands()
		r.up.cmds <- uplink.Inbound{Topic: uplink.Root("pod-1") + uplink.TopicCmd, Payload: abort.Raw, Received: time.Now()}
		until(start, 91*time.Second)
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state %s 10 s after the hub's signed merge/abort of m-1 with the store hung, want idle", st.State)
		}
	})
}

// The same hung store behind any signed command: the command loop waits in
// the verifier's replay cache, and the merge-wide abort the hub then sends
// to every pod of the merge waits behind it (the loop takes aborts first
// only between commands). "A merge that turns into a nightmare must be
// ended by each pod on its own" (issue 7): not after the SD card recovers.
func TestAMergeWideAbortDoesNotWaitBehindACommandHungOnTheReplayCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r, h, replay := mergedWithHungDisk(t, start)
		defer r.stop()
		defer close(replay.release)
		// Any command the hub signed for this pod: its jti is recorded
		// before it is judged.
		identify := h.sign(h.trusted, hubcmd.Identify{Duration: 10 * time.Second})
		r.up.Commands()
		r.up.cmds <- uplink.Inbound{Topic: uplink.Root("pod-1") + uplink.TopicCmd, Payload: identify.Raw, Received: time.Now()}
		r.up.MergeAborts()
		r.up.aborts <- uplink.Inbound{Topic: "sleegation/v1/merges/m-1/abort", Session: "m-1"}
		until(start, 91*time.Second)
		if st := r.pod.Status(); st.State != StateIdle {
			t.Fatalf("state %s 10 s after the merge-wide abort of m-1 (behind a command hung in the replay cache), want idle", st.State)
		}
	})
}
