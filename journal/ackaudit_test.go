package journal

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ackBuild builds an ack event's payload carrying its audit link.
func ackBuild(seq uint64, link AuditLink) ([]byte, error) {
	return fmt.Appendf(nil, `{"seq":%d,"type":"ack","audit":{"n":%d}}`, seq, link.N), nil
}

// checkLatchAndAudit reopens the file at path and checks what a restart
// finds: whether the latch is set and how many audit entries there are.
func checkLatchAndAudit(t *testing.T, path string, wantLatch bool, wantEntries uint64) {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, set, err := s.Latch()
	if err != nil || set != wantLatch {
		t.Fatalf("after reopening: latch set %v (%v), want %v", set, err, wantLatch)
	}
	r, err := s.VerifyAudit()
	if err != nil || !r.Intact() || r.Entries != wantEntries {
		t.Fatalf("after reopening: audit %+v (%v), want %d entries, intact", r, err, wantEntries)
	}
}

// ClearLatchAudited deletes the latch and stores the event and its audit
// entry in one transaction: after it returns, and after a reopen of the
// file, the latch is gone and the entry (with its event) is there.
func TestClearLatchAuditedStoresAllThree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetLatch([]byte(`{"rule":"heart_rate_high"}`)); err != nil {
		t.Fatal(err)
	}
	rec, err := s.ClearLatchAudited("events", time.Unix(1700000000, 0), "ack", []byte(`{"rule":"heart_rate_high"}`), ackBuild)
	if err != nil {
		t.Fatal(err)
	}
	if _, set, err := s.Latch(); err != nil || set {
		t.Fatalf("latch set %v (%v) after ClearLatchAudited, want cleared", set, err)
	}
	entries, err := s.AuditEntries(0, 10)
	if err != nil || len(entries) != 1 || !strings.Contains(string(entries[0].Raw), fmt.Sprintf(`"seq":%d,"type":"ack"`, rec.Seq)) {
		t.Fatalf("audit entries %+v (%v), want one ack entry for seq %d", entries, err, rec.Seq)
	}
	pending, err := s.Pending(0, 10)
	if err != nil || len(pending) != 1 || pending[0].Seq != rec.Seq || string(pending[0].Payload) != string(rec.Payload) {
		t.Fatalf("pending %+v (%v), want the ack event, seq %d", pending, err, rec.Seq)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkLatchAndAudit(t, path, false, 1)
}

// A ClearLatchAudited that fails stores nothing: the latch stays, no entry
// and no event, in memory and on the disk, whether the build fails or the
// commit does (the seq file cannot be written, as on a failing card).
func TestAFailedClearLatchAuditedKeepsTheLatch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(uint64, AuditLink) ([]byte, error)
		brk   bool
	}{
		{"the build fails", func(uint64, AuditLink) ([]byte, error) { return nil, errors.New("no payload") }, false},
		{"the commit fails", ackBuild, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.db")
			s, err := Open(path, &Options{SeqBlock: 1})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetLatch([]byte(`{"rule":"heart_rate_high"}`)); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, "events") // uses the seq reserved at the open
			fix := func() {}
			if tc.brk {
				fix = breakSeq(t, path)
			}
			if _, err := s.ClearLatchAudited("events", time.Unix(1700000000, 0), "ack", nil, tc.build); err == nil {
				t.Fatal("ClearLatchAudited = nil, want the failure")
			}
			fix()
			if _, set, err := s.Latch(); err != nil || !set {
				t.Fatalf("latch set %v (%v) after a failed ClearLatchAudited, want set", set, err)
			}
			if n, err := s.OutboxLen(); err != nil || n != 1 {
				t.Fatalf("outbox %d (%v), want the one event before", n, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			checkLatchAndAudit(t, path, true, 0)
		})
	}
}
