package hubclient_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/internal/mqtttest"
)

// receipts is every receipt published on pod's receipt topic, in order.
func receipts(t *testing.T, sub *mqtttest.Subscriber) []uint64 {
	t.Helper()
	var out []uint64
	for _, m := range sub.Messages() {
		if m.Topic() != hubclient.ReceiptTopic("pod-7") {
			continue
		}
		var r struct {
			Upto uint64 `json:"upto"`
			TS   string `json:"ts"`
		}
		if err := json.Unmarshal(m.Payload(), &r); err != nil {
			t.Fatalf("receipt %q: %v", m.Payload(), err)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.TS); err != nil {
			t.Fatalf("receipt %q: ts: %v", m.Payload(), err)
		}
		out = append(out, r.Upto)
	}
	return out
}

func lastIs(got []uint64, want uint64) bool { return len(got) > 0 && got[len(got)-1] == want }

// receiptsSince checks that every receipt on pod's topic so far rose
// above the one before, and returns those after the first mark (a count
// of receipts taken earlier). A receipt turn may fall between two records
// published one after the other, so a test asserts exactly what follows a
// mark it took once a receipt was seen, not how the first records were
// split into receipts.
func receiptsSince(t *testing.T, sub *mqtttest.Subscriber, mark int) []uint64 {
	t.Helper()
	got := receipts(t, sub)
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("receipts %v: %d after %d, a receipt that does not rise", got, got[i], got[i-1])
		}
	}
	return got[mark:]
}

// A receipting Follower: the hub is announced only once it is subscribed;
// a receipt covers exactly the seqs handed on without a hole, a dropped
// event's range counting as held; the next hub starts from the receipt the
// broker kept.
func TestFollowerReceiptsWhatItHoldsWithoutAHole(t *testing.T) {
	m := broker(t)
	obs := mqtttest.Subscribe(t, m.URL(), "sleegation/#", "observer", true)
	hub, err := hubclient.Connect(m.URL(), "hub", hubclient.ConnectOptions{OpTimeout: 3 * time.Second, DeferOnline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Close()
	time.Sleep(200 * time.Millisecond)
	if n := len(obs.Messages()); n != 0 {
		t.Fatalf("%d messages before the hub follows anything, want none (DeferOnline)", n)
	}
	f, err := hub.FollowWith(hubclient.FollowOptions{Receipts: true, ReceiptEvery: 50 * time.Millisecond}, "pod-7")
	if err != nil {
		t.Fatal(err)
	}
	mqtttest.WaitFor(t, 3*time.Second, "the hub announced", func() bool { return len(obs.Messages()) == 1 })
	if msg := obs.Messages()[0]; msg.Topic() != hubclient.HubStatusTopic || string(msg.Payload()[:14]) != `{"online":true` {
		t.Fatalf("first message %s %q, want the hub's status online", msg.Topic(), msg.Payload())
	}

	pod := newFakePod(t, m.URL(), "pod-7")
	tel := map[string]any{"state": "idle"}
	pod.publishSeq("telemetry", 11, tel, true)
	pod.publishSeq("telemetry", 12, tel, true)
	pod.publishSeq("telemetry", 14, tel, true)
	time.Sleep(300 * time.Millisecond) // not read yet: nothing is held
	if got := receipts(t, obs); len(got) != 0 {
		t.Fatalf("receipts %v before the records were handed on", got)
	}
	expect(t, f, "telemetry 11 historical", "telemetry 12 historical", "telemetry 14 historical", "gap 13..13")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 12", func() bool { return lastIs(receipts(t, obs), 12) })
	mark := len(receipts(t, obs))

	pod.publishSeq("events", 15, map[string]any{"type": "dropped", "reason": "outbox_full", "from": 13, "to": 13, "count": 1}, false)
	expect(t, f, "events 15", "filled 13..13 by dropped")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 15", func() bool { return lastIs(receipts(t, obs), 15) })
	// Receipted is the receipt the broker acknowledged: its PUBACK may reach
	// the hub after the observer has the receipt itself.
	var (
		upto uint64
		ok   bool
	)
	mqtttest.WaitFor(t, 3*time.Second, "Receipted to reach 15", func() bool { upto, ok = f.Receipted("pod-7"); return ok && upto >= 15 })
	if upto != 15 {
		t.Fatalf("Receipted = %d, %v; want 15", upto, ok)
	}
	if got := receiptsSince(t, obs, mark); !slices.Equal(got, []uint64{15}) {
		t.Fatalf("receipts %v after the one up to 12, want [15]", got)
	}
	mark = len(receipts(t, obs))
	f.Close()
	if err := hub.Close(); err != nil {
		t.Fatal(err)
	}

	// The next hub: the retained receipt (15) is where it starts, not the
	// first record it sees.
	hub2, err := hubclient.Connect(m.URL(), "hub2", hubclient.ConnectOptions{OpTimeout: 3 * time.Second, DeferOnline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer hub2.Close()
	f2, err := hub2.FollowWith(hubclient.FollowOptions{Receipts: true, ReceiptEvery: 50 * time.Millisecond}, "pod-7")
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	pod.publishSeq("telemetry", 17, tel, false)
	expect(t, f2, "telemetry 17")
	time.Sleep(300 * time.Millisecond)
	if got := receiptsSince(t, obs, mark); len(got) != 0 {
		t.Fatalf("receipts %v with 16 missing, want none after the one up to 15", got)
	}
	pod.publishSeq("telemetry", 16, tel, false)
	expect(t, f2, "telemetry 16")
	mqtttest.WaitFor(t, 3*time.Second, "a receipt up to 17", func() bool { return lastIs(receipts(t, obs), 17) })
}
