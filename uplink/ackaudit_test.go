package uplink

import (
	"strings"
	"testing"
	"time"
)

// An event with ClearLatch deletes the journal's latch in the transaction
// that stores it and its audit entry; without Audit it is refused and
// changes nothing.
func TestAnEventThatClearsTheLatch(t *testing.T) {
	s := openStore(t, nil)
	u := newTestUplink(t, s, nil)
	if err := s.SetLatch([]byte(`{"rule":"heart_rate_high"}`)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	if _, err := u.Event(Event{Type: "ack", Fields: map[string]any{"rule": "heart_rate_high"}, ClearLatch: true}, at); err == nil || !strings.Contains(err.Error(), "ClearLatch needs Audit") {
		t.Fatalf("ClearLatch without Audit: %v, want refused", err)
	}
	if _, set, _ := s.Latch(); !set {
		t.Fatal("a refused event cleared the latch")
	}
	seq, err := u.Event(Event{Type: "ack", Fields: map[string]any{"rule": "heart_rate_high"}, Audit: true, ClearLatch: true}, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, set, err := s.Latch(); err != nil || set {
		t.Fatalf("latch set %v (%v), want cleared", set, err)
	}
	es, err := s.AuditEntries(0, 10)
	if err != nil || len(es) != 1 || !strings.Contains(string(es[0].Raw), `"type":"ack","fields":{"rule":"heart_rate_high"}`) {
		t.Fatalf("entries %+v (%v), want the ack's", es, err)
	}
	recs, err := s.Pending(seq-1, 1)
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Payload), `"type":"ack","rule":"heart_rate_high","audit":{"n":1,`) {
		t.Fatalf("records %+v (%v), want the ack event with its link", recs, err)
	}
}
