package hubclient_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// A drop that lists what it kept: the receipt counts 3 and 5..9 held
// (reported lost) and stops below 4, kept and lost by the broker; once 4
// arrives (the pod sends it again) the receipt passes it, to 11.
func TestAKeptEventArrivingLaterLetsTheReceiptAdvance(t *testing.T) {
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
	defer f.Close()

	pod := newFakePod(t, m.URL(), "pod-7")
	tel := map[string]any{"state": "idle"}
	pod.publishSeq("telemetry", 1, tel, true)
	pod.publishSeq("telemetry", 2, tel, true)
	expect(t, f, "telemetry 1 historical", "telemetry 2 historical")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 2", func() bool { return lastIs(receipts(t, obs), 2) })
	mark := len(receipts(t, obs))

	pod.publishSeq("events", 10, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 3, "to": 9, "count": 6, "kept": []uint64{4}}, true)
	pod.publishSeq("telemetry", 11, tel, false)
	// The gap 3..9, filled but for 4.
	expect(t, f, "events 10 historical", "gap 3..9", "filled 3..3 by dropped", "filled 5..9 by dropped", "telemetry 11")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 3", func() bool { return lastIs(receipts(t, obs), 3) })
	time.Sleep(300 * time.Millisecond) // six receipt turns
	if got := receiptsSince(t, obs, mark); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("receipts %v after the one up to 2 with kept seq 4 not held, want [3]", got)
	}
	if st := f.Stats("pod-7"); !slices.Equal(st.Gaps, []hubclient.Range{{From: 4, To: 4}}) ||
		!slices.Equal(st.Dropped, []hubclient.Range{{From: 3, To: 3}, {From: 5, To: 9}}) {
		t.Fatalf("gaps %v, dropped %v; want [4..4], [3..3 5..9]", st.Gaps, st.Dropped)
	}

	pod.publishSeq("events", 4, map[string]any{"type": "abort", "reason": "panic"}, true)
	expect(t, f, "events 4 historical", "filled 4..4 by record")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 11", func() bool { return lastIs(receipts(t, obs), 11) })
	if st := f.Stats("pod-7"); len(st.Gaps) != 0 {
		t.Fatalf("gaps %v after 4 arrived, want none", st.Gaps)
	}
}

// A dropped event without kept counts its range lost only when count
// says every seq of it not reported lost before was dropped now: here a
// corrupt record (5) reported on its own lies inside a later drop of
// 3..6 (count 3, nothing kept), and the receipt passes the range.
func TestADropSpanningASeqReportedBeforeCountsAsLost(t *testing.T) {
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
	defer f.Close()

	pod := newFakePod(t, m.URL(), "pod-7")
	tel := map[string]any{"state": "idle"}
	pod.publishSeq("telemetry", 1, tel, true)
	pod.publishSeq("telemetry", 2, tel, true)
	expect(t, f, "telemetry 1 historical", "telemetry 2 historical")
	pod.publishSeq("events", 7, map[string]any{"type": "dropped", "reason": "corrupt", "from": 5, "to": 5, "count": 1, "error": "checksum"}, true)
	pod.publishSeq("events", 8, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 3, "to": 6, "count": 3}, true)
	expect(t, f, "events 7 historical", "gap 3..6", "filled 5..5 by dropped", "events 8 historical", "filled 3..4 by dropped", "filled 6..6 by dropped")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 8", func() bool { return lastIs(receipts(t, obs), 8) })
}
