package hubclient_test

import (
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// A full outbox drops telemetry around the events it keeps: its dropped
// event's from and to are "the first and last seq dropped, count how many
// records (not to-from+1: a full outbox drops telemetry around the events
// it keeps)" (uplink.reportDropped). The Follower counts the whole of
// from..to as held ("A dropped event's from..to counts as held ... the pod
// says those records are gone") and receipts over the events the pod
// kept. Here the pod kept seq 4 (an abort, say) inside a drop of 3..9,
// count 6, and the broker lost it (what require_hub is for): the receipt
// passes 4, and the pod, told the hub holds 4, deletes it unsent. The
// receipt must stay below a record the hub has not held.
func TestFollowerDoesNotReceiptTheEventsADropKept(t *testing.T) {
	m := broker(t)
	obs := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "observer", true)
	hub, err := hubclient.Connect(m.URL(), "hub", hubclient.ConnectOptions{OpTimeout: 3 * time.Second, DeferOnline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	f, err := hub.FollowWith(hubclient.FollowOptions{Receipts: true, ReceiptEvery: 50 * time.Millisecond}, "pod-7")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // the hub's reader: every record handed on is held
		defer close(done)
		for range f.Updates() {
		}
	}()
	defer func() { f.Close(); <-done }()

	pod := newFakePod(t, m.URL(), "pod-7")
	tel := map[string]any{"state": "idle"}
	pod.publishSeq("telemetry", 1, tel, true)
	pod.publishSeq("telemetry", 2, tel, true)
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 2", func() bool { return lastIs(receipts(t, obs), 2) })

	// Seq 4, an event the full outbox kept, was lost by the broker.
	pod.publishSeq("events", 10, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 3, "to": 9, "count": 6}, true)
	pod.publishSeq("telemetry", 11, tel, false)
	time.Sleep(500 * time.Millisecond) // ten receipt turns
	for _, upto := range receipts(t, obs) {
		if upto >= 4 {
			t.Fatalf("receipts %v: up to %d, over seq 4, which the drop of 3..9 (count 6 of 7) kept and the hub never held", receipts(t, obs), upto)
		}
	}
}
