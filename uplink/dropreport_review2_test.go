package uplink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sleegation/podd/journal"
)

// A full outbox drops the oldest telemetry in the commit of the record
// that did not fit, and the uplink journals the "dropped" report in a
// second commit. When that second commit fails (the disk filled up, or an
// I/O error, right after the first), the report is only logged: the
// Telemetry call returns success, nothing keeps the report for later, and
// the hub sees a gap that was never reported, which the contract rules
// out ("a gap is either still in flight or was reported by a dropped
// event"). Here the seq file cannot be rewritten (as on a full disk) just
// when the report needs the next block of seqs.
func TestADropIsReportedEvenWhenItsReportFailsOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.db")
	s, err := journal.Open(path, &journal.Options{MaxOutbox: 4, SeqBlock: 5, CommitInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := New(Config{Broker: "tcp://127.0.0.1:1", Pod: "p1", Boot: "b1", ClockSynced: func() bool { return true }}, s)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	for i := range 4 { // seqs 1..4, in the batch
		if _, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, at.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	// Seqs 1..5 are reserved; the report (seq 6) needs the seq file
	// rewritten, which now fails.
	tmp := path + ".seq.tmp"
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	seq, err := u.Telemetry(Telemetry{State: "idle", Safety: "ok"}, at.Add(5*time.Second))
	if err != nil {
		t.Fatalf("Telemetry: %v", err)
	}
	if seq != 5 {
		t.Fatalf("seq %d, want 5", seq)
	}
	// The disk answers again; the pod goes on.
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Event(Event{Type: "state", Fields: map[string]any{"state": "idle"}}, at.Add(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Pending(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for _, r := range recs {
		seqs = append(seqs, r.Seq)
		var m map[string]any
		if json.Unmarshal(r.Payload, &m) == nil && m["type"] == "dropped" {
			return // reported
		}
	}
	t.Fatalf("outbox holds seqs %v and no dropped event: seqs 1..2 were dropped and the hub is never told", seqs)
}
