package controller

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/safety"
)

// walkingAuditLog is an auditLog whose VerifyAudit costs what
// journal.Store.VerifyAudit costs: a walk (and a hash) of every entry of
// the log, in one read transaction, whatever the caller needs of it.
type walkingAuditLog struct {
	auditLog
	walked uint64
}

func (s *walkingAuditLog) VerifyAudit() (journal.AuditReport, error) {
	r, err := s.auditLog.VerifyAudit()
	s.walked += r.Entries
	return r, err
}

// DEFECT: readLastAck promises to read no further back than lastAckScan
// entries, but to find the log's extent it calls VerifyAudit, which in
// journal walks and hashes the whole kept audit log (journal/audit.go
// verifyAudit). It runs on the recorder's goroutine before storeLatch: on a
// huge log (months of entries, a slow SD card) the start's first latch
// write, every ack and every queued event wait for a full-log walk; and
// while readLatch fails (latch.known stays false) the walk is repeated on
// every syncStore. Correct: the start costs O(lastAckScan) whatever the
// log's size: find the last key with a cursor (c.Last()), e.g. a
// journal.Store.AuditLast(), and page back from it.
func TestReviewLastAckReadBackDoesNotWalkTheWholeLog(t *testing.T) {
	s := &walkingAuditLog{auditLog: auditLog{first: 1, last: 1_000_000, acks: map[uint64]string{
		999_990: `{"rule":"spo2_low","detected_at":"2026-11-30T03:00:00.000000000Z","by":"local","source":"button"}`,
	}}}
	p := &Pod{parts: Parts{Store: s}, log: slog.New(slog.DiscardHandler)}
	p.readLastAck()
	if p.LastAck() == nil {
		t.Fatal("the last ack was not found")
	}
	if total := s.walked + uint64(s.read); total > lastAckScan {
		t.Fatalf("the start touched %d audit entries (VerifyAudit walked %d, pages read %d) to find an ack 10 entries from the end; want at most lastAckScan=%d", total, s.walked, s.read, lastAckScan)
	}
}

// DEFECT: an ack whose commit succeeded but that did not take effect (the
// caller gave up after the commit, or wd.Ack refused because a condition
// came back: recorder.go ack, after Uplink.Event ClearLatch) leaves its
// "ack" audit entry, and the latch is written back by syncStore. After a
// restart the pod is latched on that very abort, yet readLastAck reports
// it as acknowledged: Status says "latched on spo2_low detected 03:00" and
// "last ack: spo2_low detected 03:00, by tech". A technician reading it
// believes the abort cleared. Correct: an ack entry for the abort the
// restored latch holds (same rule and detected_at) is not the last ack
// (or the void ack is recorded, e.g. an "ack_void" entry, and skipped).
func TestReviewLastAckIsNotTheStillLatchedAbort(t *testing.T) {
	s := &auditLog{first: 1, last: 20, acks: map[uint64]string{
		20: `{"rule":"spo2_low","detected_at":"2026-11-30T03:00:00.000000000Z","by":"local","source":"api","uid":1000,"pid":77,"user":"tech"}`,
	}}
	p := &Pod{parts: Parts{Store: s}, log: slog.New(slog.DiscardHandler)}
	// The latch written back after the void ack, as readLatch restores it.
	at, _ := time.Parse(time.RFC3339, "2026-11-30T03:00:00Z")
	p.latchSt = latchState{known: true, reported: true, stored: &safety.Abort{Rule: "spo2_low", Detail: "spo2 88 < 90", Limit: 90, At: at}}
	p.readLastAck()
	st := p.latch().stored
	if st == nil || st.Rule != "spo2_low" {
		t.Fatalf("stored latch %+v; want spo2_low", st)
	}
	if l := p.LastAck(); l != nil && l.Rule == st.Rule && l.DetectedAt.Equal(st.At) {
		t.Fatalf("the pod is latched on %s detected %s, yet its last ack says that abort was cleared at %s by %s", st.Rule, st.At, l.At, l.User)
	}
}
