package journal

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// threeVitalsDamaged writes a store with three vitals entries (seqs 1..3)
// under the test's TempDir, closes it, changes its vitals history bucket
// with f (damageHistory) and returns its path.
func threeVitalsDamaged(t *testing.T, f func(b *bolt.Bucket) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	for i := range 3 {
		s.AppendHistory(HistoryVitals, event(time.Now(), "vitals", i))
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageHistory(t, path, f)
	return path
}

// damageHistory changes the closed store file at path inside its
// history_vitals bucket with f.
func damageHistory(t *testing.T, path string, f func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return f(tx.Bucket(bucketHistoryVitals)) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// DEFECT: the history is written inside the outbox's group commit
// (commitLocked calls putHistory in the same transaction), so any error
// of the history fails the commit of the telemetry and of the outbox's
// deletions, at every group commit, for as long as the history stays as
// it is. Here the history_vitals bucket holds, at open, a nested bucket
// under an 8-byte key (damage Open does not check for): pruneHistory
// takes it for an entry failing its checksum, b.Delete refuses it
// (bolt.ErrIncompatibleValue), and every Commit fails with "history: ...";
// the telemetry is never stored, acked records are never deleted, the
// outbox fills. A damaged history, a store of convenience, blocks the
// outbox. Correct: the history cannot fail the outbox's commit: it is
// written in its own transaction after the group commit (its failure
// counted in DroppedFailed), or a bucket that cannot be written is set
// aside (recreated, or the history disabled) at open; the telemetry is
// committed here.
func TestReviewADamagedHistoryBucketDoesNotFailTheOutboxsCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageHistory(t, path, func(b *bolt.Bucket) error {
		_, err := b.CreateBucket(seqKey(0))
		return err
	})
	s = open(t, path, &Options{CommitInterval: time.Hour})
	rec := mustAppendLazy(t, s)
	if err := s.Commit(); err != nil {
		t.Fatalf("the group commit of telemetry seq %d failed on the history: %v", rec.Seq, err)
	}
	if n := outboxLen(t, s); n != 1 {
		t.Fatalf("outbox holds %d records, want the telemetry", n)
	}
}

// DEFECT: pruneHistory returns at once when the bucket's first key is not
// 8 bytes long, so one stray key sorting first (damage in the bucket at
// open, a key of another format) switches pruning off for good: neither
// the retention nor MaxHistoryVitals is applied again, the bucket grows
// without bound and keeps the sleeper's vitals past the retention.
// Correct: keys that are not seqs are skipped (or deleted) by pruning,
// which goes on over the entries; here the bucket keeps MaxHistoryVitals
// (10) entries.
func TestReviewAStrayKeyInTheHistoryDoesNotStopItsPruning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s := open(t, path, &Options{CommitInterval: time.Hour})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageHistory(t, path, func(b *bolt.Bucket) error { return b.Put([]byte{0}, []byte("x")) })
	s = open(t, path, &Options{CommitInterval: time.Hour, MaxHistoryVitals: 10})
	for i := range 30 {
		s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now(), Type: "vitals", Data: fmt.Appendf(nil, `{"i":%d}`, i)})
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if p := mustHistory(t, s, HistoryVitals, HistoryQuery{}); len(p.Entries) > 10 {
		t.Fatalf("history_vitals holds %d entries (seqs %d..%d), MaxHistoryVitals is 10",
			len(p.Entries), p.Entries[0].Seq, p.Entries[len(p.Entries)-1].Seq)
	}
}

// A history bucket gone from the file after its open (damage the page
// check does not see, a tool that deleted it) fails no group commit: the
// telemetry commits, and the history taken is let go and counted.
func TestAHistoryThatCannotBeWrittenFailsNoGroupCommit(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "j.db"), &Options{CommitInterval: time.Hour})
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketHistoryVitals) }); err != nil {
		t.Fatal(err)
	}
	before := s.HistoryStats().DroppedFailed
	s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now(), Type: "vitals", Data: []byte(`{"i":1}`)})
	s.AppendHistory(HistoryVitals, HistoryEntry{At: time.Now(), Type: "vitals", Data: []byte(`{"i":2}`)})
	rec := mustAppendLazy(t, s)
	if err := s.Commit(); err != nil {
		t.Fatalf("the group commit of telemetry seq %d failed on the history: %v", rec.Seq, err)
	}
	if n := outboxLen(t, s); n != 1 {
		t.Fatalf("outbox holds %d records, want the telemetry", n)
	}
	if got := s.HistoryStats().DroppedFailed - before; got != 2 {
		t.Fatalf("DroppedFailed grew by %d, want the 2 entries let go", got)
	}
}
