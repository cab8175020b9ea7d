package controller

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// switchedHub is the fake uplink of a pod with require_hub whose hub a
// test takes offline (its will: online false), the broker staying up.
type switchedHub struct {
	*fakeUplink
	offline atomic.Bool
}

func (h *switchedHub) CommandsRefused() bool { return false }
func (h *switchedHub) RequiresHub() bool     { return true }
func (h *switchedHub) HubOnline() (online, known bool) {
	return !h.offline.Load(), true
}
func (h *switchedHub) HubReceipt() (upto uint64, ok bool) { return 0, false }

// "A merge also ends, gracefully, ... when the city link has been lost
// for 30 s" (README; issue 7: "when the city link has been lost for more
// than 30 s during a merge"). With uplink.require_hub the pod knows the
// hub itself: its will says it is gone. A broker still connected with no
// hub behind it is no city link: nobody can send the merge's end, its
// merge-wide abort, or read the pod's records (which the pod now holds).
// The pod counts only its connection to the broker, and stays merged for
// as long as the hub is away.
func TestAMergeEndsWhenTheHubHasBeenOfflineForLongerThanTheLinkLossLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		fake := &fakeUplink{}
		fake.connected.Store(true)
		up := &switchedHub{fakeUplink: fake}
		r := newRigWith(t, calm, &memStore{}, rigOpts{up: fake, uplink: up})
		defer r.stop()
		until(start, 20*time.Second)
		if _, err := r.pod.GrantConsent("button", 0); err != nil {
			t.Fatal(err)
		}
		if err := r.pod.StartMerge(merge1); err != nil {
			t.Fatal(err)
		}
		until(start, 81*time.Second)
		if st := r.pod.Status(); st.State != StateMerged {
			t.Fatalf("state %s, want merged", st.State)
		}
		up.offline.Store(true) // the hub's will
		until(start, 81*time.Second+LinkLossLimit+2*time.Second)
		if st := r.pod.Status(); st.State != StateEnding && st.State != StateIdle {
			t.Fatalf("state %s %v after the hub went offline (the broker still connected), want ending", st.State, LinkLossLimit+2*time.Second)
		}
	})
}
